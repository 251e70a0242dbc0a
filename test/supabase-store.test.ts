/**
 * The supabase store through its real client (supabase-js rpc) against a
 * PostgREST-style RPC endpoint on real Postgres (test/postgrest-rpc.ts), and
 * against a real Supabase project when SUPABASE_URL and
 * SUPABASE_SERVICE_ROLE_KEY are set.
 */
import { createClient } from '@supabase/supabase-js'
import pg from 'pg'
import postgres from 'postgres'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLogger, type AuditStore } from '@audit/core'
import { migratePostgres } from '@audit/core/postgres'
import { openSupabaseStore } from '@audit/core/supabase'
import { createTestDatabase, describeEngine, runStoreConformance, type TestDatabase } from '@audit/core/testing'
import { startRpcEndpoint } from './postgrest-rpc.ts'

async function prepare() {
  const db = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await migratePostgres(pool)
  await pool.end()
  const rpc = await startRpcEndpoint(db.url, { max: db.maxConnections })
  return { db, rpc }
}

let ctx: { db: TestDatabase; rpc: Awaited<ReturnType<typeof startRpcEndpoint>> }
runStoreConformance(`supabase-js over the RPC endpoint on ${describeEngine()}`, {
  open: async () => {
    ctx = await prepare()
    return openSupabaseStore({ url: ctx.rpc.url, serviceRoleKey: ctx.rpc.serviceRoleKey })
  },
  cleanup: async () => {
    await ctx.rpc.close()
    await ctx.db.drop()
  },
  analyze: () => ctx.db.exec('analyze public.audit_events'),
})

describe(`RLS and grants on ${describeEngine()}`, () => {
  let c: Awaited<ReturnType<typeof prepare>>
  let sql: postgres.Sql
  beforeAll(async () => {
    c = await prepare()
    sql = postgres(c.db.url, { max: 1, onnotice: () => {} })
  })
  afterAll(async () => {
    await sql.end()
    await c.rpc.close()
    await c.db.drop()
  })

  const calls: [string, Record<string, unknown>][] = [
    ['audit_insert_events', { p_events: [{ source: 'x', operation_type: 'x', result: 'success' }] }],
    ['audit_query_events', { p_filters: {} }],
    ['audit_total_events', { p_filters: {} }],
    ['audit_get_event', { p_id: '01900000-0000-7000-8000-000000000001' }],
    ['audit_stats', { p_filters: {} }],
    ['audit_delete_events', { p_filters: { source: ['x'] } }],
  ]

  it.each(['anon', 'authenticated'] as const)('with the %s key every function call is refused', async (who) => {
    const client = createClient(c.rpc.url, who === 'anon' ? c.rpc.anonKey : c.rpc.authenticatedKey, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket as never } })
    for (const [fn, args] of calls) {
      const { data, error, status } = await client.rpc(fn, args)
      expect(data, fn).toBeNull()
      expect(error?.code, fn).toBe('42501')
      expect(status, fn).toBe(who === 'anon' ? 401 : 403)
    }
  })

  it('helpers that are not API are no RPC endpoints, even for service_role', async () => {
    const client = createClient(c.rpc.url, c.rpc.serviceRoleKey, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket as never } })
    for (const fn of ['audit_events_where', 'audit_count_events', 'audit_events_append_only', 'audit_events_default_severity']) {
      const { error, status } = await client.rpc(fn, { p_filters: {} })
      expect([fn, error?.code, status]).toEqual([fn, 'PGRST202', 404])
    }
  })

  it.each(['anon', 'authenticated'] as const)('as %s the table can be neither read nor written', async (role) => {
    for (const stmt of [
      'select count(*) from public.audit_events',
      "insert into public.audit_events (source, operation_type, result) values ('x', 'x', 'success')",
      'delete from public.audit_events',
      "update public.audit_events set message = 'x'",
    ]) {
      const err = await sql
        .begin(async (tx) => {
          await tx.unsafe(`set local role ${role}`)
          await tx.unsafe(stmt)
        })
        .then(
          () => null,
          (e: unknown) => e as { code?: string },
        )
      expect(err?.code, stmt).toBe('42501')
    }
  })

  it('service_role may call the functions but cannot delete or update rows directly', async () => {
    const store = await openSupabaseStore({ url: c.rpc.url, serviceRoleKey: c.rpc.serviceRoleKey })
    expect(await store.insertEvents([{ id: '01900000-0000-7000-8000-0000000000f1', timestamp: new Date().toISOString(), source: 'x', operation_type: 'x', result: 'success', severity: 'info' } as never])).toBe(1)
    for (const stmt of ['delete from public.audit_events', "update public.audit_events set message = 'x'", 'truncate public.audit_events']) {
      const err = await sql
        .begin(async (tx) => {
          await tx.unsafe('set local role service_role')
          await tx.unsafe(stmt)
        })
        .then(
          () => null,
          (e: unknown) => e as { code?: string },
        )
      expect(err?.code, stmt).toBe('42501')
    }
    expect((await store.queryEvents({ filters: {}, limit: 10 })).total).toBe(1)
  })

  it('a bad JWT is refused with 401', async () => {
    const client = createClient(c.rpc.url, 'not.a.jwt', { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket as never } })
    const { error, status } = await client.rpc('audit_total_events', { p_filters: {} })
    expect(status).toBe(401)
    expect(error?.code).toBe('PGRST301')
  })
})

describe(`the endpoint answering 503 for a while, then recovering (${describeEngine()})`, () => {
  let c: Awaited<ReturnType<typeof prepare>>
  let store: AuditStore
  beforeAll(async () => {
    c = await prepare()
    store = await openSupabaseStore({ url: c.rpc.url, serviceRoleKey: c.rpc.serviceRoleKey })
  })
  afterAll(async () => {
    await c.rpc.close()
    await c.db.drop()
  })

  it('writes every event exactly once', async () => {
    const audit = createAuditLogger({ store, batchSize: 50, queueSize: 1000, retryBaseMs: 5, retryMaxMs: 40, log: { warn() {}, error() {} } })
    c.rpc.faults.fail(8)
    const ids = []
    for (let i = 0; i < 300; i++) ids.push(await audit.logEvent({ operationType: 'flaky', result: 'success', source: 'api-service', message: `e${i}` }))
    await audit.flush()
    const s = audit.stats()
    expect(c.rpc.faults.failed).toBe(8)
    expect(s).toMatchObject({ enqueued: 300, written: 300, dropped: 0, rejected: 0 })
    expect(s.failed).toBe(8)
    const page = await store.queryEvents({ filters: { operation_type: ['flaky'] }, limit: 1000 })
    expect(page.total).toBe(300)
    expect(new Set(page.events.map((e) => e.id))).toEqual(new Set(ids))
  })

  it('a poison event among good ones is rejected alone through the endpoint (SQLSTATE 22/23 → 400)', async () => {
    const audit = createAuditLogger({ store, batchSize: 100, log: { warn() {}, error() {} } })
    for (let i = 0; i < 100; i++) await audit.logEvent({ operationType: 'poison_rpc', result: 'success', extraInfo: i === 42 ? { bad: '\ud800' } : { i } })
    await audit.flush()
    expect(audit.stats()).toMatchObject({ written: 99, rejected: 1 })
    expect((await store.queryEvents({ filters: { operation_type: ['poison_rpc'] }, limit: 1 })).total).toBe(99)
  })
})

const live = Boolean(process.env.SUPABASE_URL && process.env.SUPABASE_SERVICE_ROLE_KEY)
describe.skipIf(!live)('live Supabase project (skipped: SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are not set)', () => {
  runStoreConformance('supabase-js on the live project', {
    open: async () => openSupabaseStore({ url: process.env.SUPABASE_URL as string, serviceRoleKey: process.env.SUPABASE_SERVICE_ROLE_KEY as string }),
  })
})
