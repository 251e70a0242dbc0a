/**
 * The events table partitioned by day (pg_partman) on a Postgres server that
 * has pg_partman, and the unpartitioned fallback where it has not (PGlite):
 * partitions made and filled, a re-sent batch written once, the API's reads,
 * the trail, and retention dropping whole partitions.
 *
 * On the server (TEST_DATABASE_URL) pg_partman must be installed
 * (postgresql-15-partman): without it this file fails, saying so.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maintainPartitions, newEventId, readDatabaseTrail, uuid7Time, verifyTrail, type AuditStore, type PartitioningStatus } from '@audit/core'
import { createTestDatabase, eventIdAt, seedEvents, type TestDatabase } from '@audit/core/testing'
import { openPgliteStore } from '@audit/core/pglite'
import { openPostgresStore } from '@audit/core/postgres'
import { testApp } from '../apps/api/test-support/test-app.ts'
import { describePartitioning } from '../apps/api/src/partitioning.ts'
import { parseRetention, runRetention } from '../apps/api/src/retention.ts'
import { PRODUCTION, startServer } from './server-process.ts'

const onServer = Boolean(process.env.TEST_DATABASE_URL)
const DAY = 86_400_000
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

describe.runIf(onServer)('audit_events partitioned by day (pg_partman) on the Postgres server', () => {
  let db: TestDatabase
  let client: pg.Client
  let t: Awaited<ReturnType<typeof testApp>>
  let store: AuditStore
  const now = Date.now()
  // 10 days back from now, one batch: most rows arrive before their day's partition exists (a backfill)
  const rows = seedEvents(400, { now, days: 10, seed: 7 })
  const q = async <R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []) => (await client.query<R>(text, params)).rows

  beforeAll(async () => {
    db = await createTestDatabase()
    client = new pg.Client({ connectionString: db.url })
    await client.connect()
    const [ext] = await q<{ n: number }>("select count(*)::int as n from pg_available_extensions where name = 'pg_partman'")
    if (ext?.n !== 1) {
      throw new Error(
        'TEST_DATABASE_URL names a server without pg_partman (not in pg_available_extensions): install it there (Debian: apt-get install -y postgresql-15-partman; no restart needed), or run without TEST_DATABASE_URL',
      )
    }
    store = await openPostgresStore({ databaseUrl: db.url })
    t = await testApp({ store })
    expect(await store.insertEvents(rows)).toBe(rows.length)
  }, 120_000)
  afterAll(async () => {
    await t?.close()
    await client?.end()
    await db?.drop()
  })

  const partitionNames = async () => (await q<{ p: string }>('select relid::text as p from audit_private.event_partitions()')).map((r) => r.p)
  const verify = async () => verifyTrail(await readDatabaseTrail(client))
  const partitionOf = async () =>
    Object.fromEntries((await q<{ p: string; n: number }>('select tableoid::regclass::text as p, count(*)::int as n from public.audit_events group by 1')).map((r) => [r.p, r.n]))

  it('the migration made the table partitioned, managed by pg_partman, days made ahead', async () => {
    const s = (await store.partitioning?.()) as PartitioningStatus
    expect(s).toMatchObject({ partitioned: true, manager: expect.stringMatching(/^pg_partman \d/), interval: '1 day', reason: null })
    expect(Date.parse(s.premade_until ?? '')).toBeGreaterThanOrEqual(Date.parse(utcDay(now)) + 7 * DAY)
    expect(describePartitioning(s)).toMatch(/^events are partitioned by 1 day \(pg_partman [\d.]+\): \d+ partitions, made ahead to /)
    const [k] = await q<{ k: string }>("select relkind::text as k from pg_class where oid = 'public.audit_events'::regclass")
    expect(k?.k).toBe('p')
  })

  it('maintenance moves what the default partition caught into partitions of their own days, a day a step, and the trail is unchanged', async () => {
    const before = await q<{ n: number }>('select count(*)::int as n from public.audit_checkpoints')
    const caught = (await partitionOf()).audit_events_default ?? 0
    const oldest = utcDay(Math.min(...rows.map((r) => Date.parse(r.timestamp))))
    const ofOldest = rows.filter((r) => utcDay(Date.parse(r.timestamp)) === oldest).length
    expect(caught).toBeGreaterThan(ofOldest)
    // one step, one transaction: the oldest day only, the rest left for the next step
    const step = (await store.maintainPartitions?.()) as PartitioningStatus
    expect(step).toMatchObject({ moved: ofOldest, backlog: true })
    const after1 = await partitionOf()
    expect(after1[`audit_events_p${oldest.replace(/-/g, '_')}`]).toBe(ofOldest)
    expect(after1.audit_events_default).toBe(caught - ofOldest)
    // the rest, while another connection reads the newest events: a step locks
    // the table before the partitions, as a reader does, so neither waits for the other in a cycle
    let moving = true
    const failed: string[] = []
    const reader = (async () => {
      while (moving) {
        await q('select id from public.audit_events order by "timestamp" desc limit 50').catch((e: unknown) => failed.push(`${(e as { code?: string }).code}: ${(e as Error).message}`))
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    try {
      expect(await maintainPartitions(store)).toMatchObject({ partitioned: true, backlog: false })
    } finally {
      moving = false
      await reader
    }
    expect(failed).toEqual([])
    const where = await partitionOf()
    expect(where.audit_events_default).toBeUndefined()
    const expected: Record<string, number> = {}
    for (const r of rows) {
      const name = `audit_events_p${utcDay(Date.parse(r.timestamp)).replace(/-/g, '_')}`
      expected[name] = (expected[name] ?? 0) + 1
    }
    expect(where).toEqual(expected)
    expect(Object.keys(where).length).toBeGreaterThanOrEqual(10)
    expect(await q('select count(*)::int as n from public.audit_checkpoints')).toEqual(before)
    const report = await verify()
    expect(report.problems).toEqual([])
    expect(report).toMatchObject({ intact: true, events: rows.length })
  }, 60_000)

  it('every partition has the parent indexes, RLS on and no grant to anon or authenticated', async () => {
    const parts = await q<{ relid: string; rls: boolean; acl: string | null; idx: number }>(
      `select p.relid::text as relid, c.relrowsecurity as rls, c.relacl::text as acl,
              (select count(*)::int from pg_index i where i.indrelid = p.relid) as idx
       from audit_private.event_partitions() p join pg_class c on c.oid = p.relid`,
    )
    const [parent] = await q<{ idx: number }>("select count(*)::int as idx from pg_index where indrelid = 'public.audit_events'::regclass")
    expect(parts.length).toBeGreaterThan(11)
    for (const p of parts) {
      expect(p).toMatchObject({ rls: true, idx: parent?.idx })
      expect(p.acl ?? '').not.toMatch(/anon|authenticated/)
    }
  })

  it('a re-sent batch (same ids, same timestamps) writes nothing twice, by COPY and by the insert function', async () => {
    const again = rows.slice(0, 150)
    expect(await store.insertEvents(again)).toBe(0)
    const [r] = await q<{ n: number }>('select public.audit_insert_events($1::text::json) as n', [JSON.stringify(again)])
    expect(r?.n).toBe(0)
    expect(await q('select count(*)::int as n, count(distinct id)::int as d from public.audit_events')).toEqual([{ n: rows.length, d: rows.length }])
  })

  it('the same id with another timestamp is a second row: the unique key is (id, "timestamp")', async () => {
    // not something the library sends (it stamps id and time once, at enqueue); another writer could
    await q('begin')
    try {
      const other = { ...rows[0], timestamp: new Date(Date.parse(rows[0]?.timestamp as string) - 1000).toISOString() }
      const [r] = await q<{ n: number }>('select public.audit_insert_events($1::text::json) as n', [JSON.stringify([other])])
      expect(r?.n).toBe(1)
    } finally {
      await q('rollback')
    }
  })

  it('lists, counts, exports and finds events across partitions', async () => {
    const start = new Date(now - 11 * DAY).toISOString()
    const list = await t.call(`/api/v1/audit/events?start_date=${start}&limit=1000`, { key: 'read' })
    expect(list.status).toBe(200)
    expect(list.json.total).toBe(rows.length)
    const sorted = [...rows].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
    expect(list.json.events.map((e: { id: string }) => e.id)).toEqual(sorted.map((r) => r.id))
    const stats = await t.call(`/api/v1/audit/stats?start_date=${start}`, { key: 'read' })
    expect(stats.json.total).toBe(rows.length)
    const csv = await t.call(`/api/v1/audit/events/export?format=csv&start_date=${start}`, { key: 'read' })
    expect(csv.status).toBe(200)
    expect(csv.text.trim().split('\n')).toHaveLength(rows.length + 1)
    const one = sorted[200]!
    const got = await t.call(`/api/v1/audit/events/${one.id}`, { key: 'read' })
    expect(got.json).toMatchObject({ id: one.id, timestamp: one.timestamp, message: one.message })
  })

  it('finds by id an event whose time is far from its id’s time, and answers 404 for none', async () => {
    const id = eventIdAt(now + 1)
    const ts = new Date(now - 9 * DAY + 123).toISOString()
    await store.insertEvents([{ ...rows[1]!, id, timestamp: ts }])
    expect(await store.getEvent(id)).toMatchObject({ id, timestamp: ts })
    expect((await t.call(`/api/v1/audit/events/${eventIdAt(now - 5)}`, { key: 'read' })).status).toBe(404)
    rows.push({ ...rows[1]!, id, timestamp: ts })
  })

  it('retention for one severity deletes rows and drops no partition', async () => {
    const before = await partitionNames()
    const cutoff = now - 3 * DAY
    const expired = rows.filter((r) => r.severity === 'debug' && Date.parse(r.timestamp) < cutoff)
    expect(expired.length).toBeGreaterThan(0)
    const report = await runRetention(store, t.audit, parseRetention('debug:3'), now)
    expect(report.deleted.debug).toBe(expired.length)
    expect(await partitionNames()).toEqual(expect.arrayContaining(before))
    const gone = new Set(expired.map((r) => r.id))
    rows.splice(0, rows.length, ...rows.filter((r) => !gone.has(r.id)))
    expect((await verify()).problems).toEqual([])
  })

  it('retention for every severity drops the partitions past the cut-off, records them in the trail, and leaves newer events alone', async () => {
    const cutoff = now - 5 * DAY
    const old = rows.filter((r) => Date.parse(r.timestamp) < cutoff)
    const kept = rows.filter((r) => Date.parse(r.timestamp) >= cutoff)
    const wholeDays = new Set(old.filter((r) => Date.parse(r.timestamp) < Date.parse(utcDay(cutoff))).map((r) => utcDay(Date.parse(r.timestamp))))
    const report = await runRetention(store, t.audit, parseRetention('5'), now)
    expect(report.total).toBe(old.length)
    await t.audit.flush()
    const [event] = (await t.store.queryEvents({ filters: { operation_type: ['audit_retention'] }, limit: 1, withTotal: false })).events
    expect(event?.extra_info?.partitions_dropped).toEqual(expect.arrayContaining([...wholeDays].map((d) => `public.audit_events_p${d.replace(/-/g, '_')}`)))
    const left = await partitionOf()
    for (const d of wholeDays) expect(left[`audit_events_p${d.replace(/-/g, '_')}`]).toBeUndefined()
    expect(wholeDays.size).toBeGreaterThanOrEqual(4)
    const [tables] = await q<{ n: number }>(`select count(*)::int as n from pg_class where relname = any($1::text[])`, [[...wholeDays].map((d) => `audit_events_p${d.replace(/-/g, '_')}`)])
    expect(tables?.n).toBe(0)
    const ids = (await q<{ id: string }>("select id::text from public.audit_events where operation_type <> 'audit_retention' order by id")).map((r) => r.id)
    expect(ids).toEqual(kept.map((r) => r.id).sort())
    const dropped = await q<{ n: number }>("select coalesce(sum(count), 0)::int as n from public.audit_checkpoints where kind = 'delete' and reason like 'retention: every severity%'")
    expect(dropped[0]?.n).toBeGreaterThan(0)
    // the dropped partitions' rows are out of /stats' counts by column too (hourly and daily): they equal a fresh count
    const off = await q(`select unit, dim, at, value, sum(n)::int as n from (
        select u.unit, v.dim, date_trunc(u.unit, e."timestamp", 'UTC') as at, v.value, count(*) as n
        from public.audit_events e
        cross join (values ('hour'), ('day')) u(unit)
        cross join lateral (values ('result', e.result::text), ('severity', e.severity::text), ('source', e.source::text), ('operation_type', e.operation_type::text)) v(dim, value)
        group by 1, 2, 3, 4
        union all select 'hour', dim, hour, value, -n from audit_private.event_counts_by
        union all select 'day', dim, day, value, -n from audit_private.event_counts_by_daily) s
      group by 1, 2, 3, 4 having sum(n) <> 0`)
    expect(off).toEqual([])
    const trail = await verify()
    expect(trail.problems).toEqual([])
    expect(trail.intact).toBe(true)
  })

  it('behind a long reader (an export holding the table), retention deletes rows instead of waiting to drop, and ingest goes on', async () => {
    const cutoff = now - 3 * DAY
    const expired = (await q<{ id: string }>(`select id::text from public.audit_events where "timestamp" < $1 and operation_type <> 'audit_retention'`, [new Date(cutoff).toISOString()])).map((r) => r.id)
    const partsBefore = await partitionNames()
    const reader = new pg.Client({ connectionString: db.url })
    await reader.connect()
    try {
      await reader.query('begin')
      await reader.query('select count(*) from public.audit_events')
      const report = await runRetention(store, t.audit, parseRetention('3'), now)
      expect(report.total).toBe(expired.length)
      // the drop gave up, so nothing queued behind it: a write goes through while the reader still holds the table
      expect((await t.call('/api/v1/audit/events', { body: { source: 'frontend', operation_type: 'behind_reader', result: 'success' } })).status).toBe(201)
    } finally {
      await reader.query('rollback')
      await reader.end()
    }
    expect(expired.length).toBeGreaterThan(0)
    await t.audit.flush()
    const [event] = (await t.store.queryEvents({ filters: { operation_type: ['audit_retention'] }, limit: 1, withTotal: false })).events
    expect(event?.result).toBe('success')
    expect(event?.extra_info).toMatchObject({ total: expired.length, partitions_not_dropped: expect.stringContaining('lock timeout') })
    expect(event?.extra_info?.partitions_dropped).toBeUndefined()
    expect(await partitionNames()).toEqual(partsBefore)
    const [left] = await q<{ n: number }>(`select count(*)::int as n from public.audit_events where "timestamp" < $1 and operation_type <> 'audit_retention'`, [new Date(cutoff).toISOString()])
    expect(left?.n).toBe(0)
    const trail = await verify()
    expect(trail.problems).toEqual([])
  }, 60_000)

  it('over HTTP, a re-sent request whose events carry their ids but no timestamps is written once', async () => {
    const ids = [newEventId(), newEventId()]
    const body = { events: ids.map((id) => ({ id, source: 'frontend', operation_type: 'resend_check', result: 'success' })) }
    expect((await t.call('/api/v1/audit/events', { body })).status).toBe(201)
    expect((await t.call('/api/v1/audit/events', { body })).status).toBe(201)
    const rowsNow = await q<{ id: string; ts: string }>("select id::text, to_char(\"timestamp\" at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') as ts from public.audit_events where operation_type = 'resend_check' order by id")
    expect(rowsNow).toEqual(ids.sort().map((id) => ({ id, ts: new Date(uuid7Time(id) ?? 0).toISOString() })))
  })
})

// Needs no server: runs whatever TEST_DATABASE_URL says, so CI (which sets it) runs it too.
describe('audit_events unpartitioned on PGlite', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'audit-partitioning-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('says why, premakes nothing and drops nothing; retention deletes rows', async () => {
    const store = await openPgliteStore({ dataDir: 'memory://' })
    try {
      const s = (await store.partitioning?.()) as PartitioningStatus
      expect(s).toEqual({ partitioned: false, manager: null, reason: expect.stringContaining('pg_partman is not available') })
      expect(describePartitioning(s)).toMatch(/^events are unpartitioned: pg_partman is not available on this database server/)
      expect(await maintainPartitions(store)).toEqual({ ...s, moved: 0, backlog: false })
      const now = Date.now()
      const rows = seedEvents(50, { now, days: 10, seed: 5 })
      await store.insertEvents(rows)
      expect(await store.insertEvents(rows)).toBe(0)
      expect(await store.dropPartitions?.(new Date(now), 'test')).toEqual({ partitions: [], deleted: {}, total: 0 })
      const t = await testApp({ store })
      const report = await runRetention(store, t.audit, parseRetention('5'), now)
      expect(report.total).toBe(rows.filter((r) => Date.parse(r.timestamp) < now - 5 * DAY).length)
      const kept = rows.find((r) => Date.parse(r.timestamp) >= now - 5 * DAY)!
      expect(await store.getEvent(kept.id)).toMatchObject({ id: kept.id })
      await t.audit.shutdown({ deadlineMs: 1000 })
    } finally {
      await store.close()
    }
  }, 60_000)

  it('the server logs one start-up line saying events are unpartitioned and why', async () => {
    const server = await startServer({ AUDIT_STORE: 'pglite', DATABASE_URL: '', AUDIT_DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AUDIT_RETENTION_SCHEDULE: 'off' }, PRODUCTION)
    try {
      const lines = server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string })
        .filter((l) => l.msg.includes('partitioned'))
      expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^events are unpartitioned: pg_partman is not available on this database server/)])
    } finally {
      await server.stop()
    }
  }, 180_000)
})
