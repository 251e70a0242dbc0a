import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '../testing/postgres.ts'
import { runStoreConformance } from '../testing/conformance.ts'
import { seedEvents } from '../testing/seed.ts'
import { migratePostgres, openPostgresStore } from './postgres-store.ts'

let db: TestDatabase
// so that a CI log shows which engine the suite ran on
beforeAll(() => console.log(`postgres store conformance runs on: ${describeEngine()}`))
runStoreConformance(`postgres.js on ${describeEngine()}`, {
  open: async () => {
    db = await createTestDatabase()
    return openPostgresStore({ databaseUrl: db.url, max: db.maxConnections, copy: db.copy })
  },
  cleanup: () => db.drop(),
  analyze: () => db.exec('analyze public.audit_events'),
})

describe(`postgres migrations on ${describeEngine()}`, () => {
  let other: TestDatabase
  beforeAll(async () => {
    other = await createTestDatabase()
  })
  afterAll(() => other.drop())

  it('migrates once when several processes start together', async () => {
    const open = () => openPostgresStore({ databaseUrl: other.url, max: 1, copy: other.copy })
    // On PGlite (one backend) concurrent connections would interleave their messages; open them in turn there.
    const stores =
      other.engine === 'server' ? await Promise.all([open(), open(), open()]) : [await open(), await open(), await open()]
    const applied = await stores[0]!.sql`select name from audit_meta.schema_migrations`
    expect(applied.length).toBeGreaterThan(0)
    expect(await migratePostgres(stores[0]!.sql)).toEqual([])
    await Promise.all(stores.map((s) => s.close()))
  })
})

describe(`postgres store batch writes on ${describeEngine()}`, () => {
  it('writes a batch with one COPY on a server (the insert function on the PGlite stand-in), and a re-sent one with the insert function', async () => {
    const target = await createTestDatabase()
    const store = await openPostgresStore({ databaseUrl: target.url, max: target.maxConnections, copy: target.copy })
    try {
      // COPY runs on a reserved connection; the insert function on the pool
      const reserve = vi.spyOn(store.sql, 'reserve')
      const unsafe = vi.spyOn(store.sql, 'unsafe')
      const insertFunctionCalls = () => unsafe.mock.calls.filter(([text]) => text.includes('audit_insert_events')).length
      const rows = seedEvents(500, { now: Date.parse('2026-11-20T12:00:00Z'), days: 3, seed: 11 })
      // text that COPY's format must escape: a lone backslash, a literal \N, tabs, line ends
      Object.assign(rows[0]!, { operator: '\\N', resource_id: '\\', message: 'a\tb\nc\rd\\e', extra_info: { k: 'x\\y\tz' } })
      expect(await store.insertEvents(rows)).toBe(500)
      expect(reserve).toHaveBeenCalledTimes(target.copy ? 1 : 0)
      expect(insertFunctionCalls()).toBe(target.copy ? 0 : 1)
      expect(await store.getEvent(rows[0]!.id)).toMatchObject({ operator: '\\N', resource_id: '\\', message: 'a\tb\nc\rd\\e', extra_info: { k: 'x\\y\tz' } })
      // re-sent: COPY refuses the duplicate ids, the insert function skips them
      expect(await store.insertEvents(rows)).toBe(0)
      expect(insertFunctionCalls()).toBe(target.copy ? 1 : 2)
      const [n] = await store.sql<{ n: number }[]>`select count(*)::int as n from public.audit_events`
      expect(n?.n).toBe(500)
    } finally {
      await store.close()
      await target.drop()
    }
  })

  // PGlite's stand-in has no COPY (and one backend, which cannot be terminated from a client): the server's CI run covers this
  it.runIf(process.env.TEST_DATABASE_URL)('a connection lost during a COPY is a transient error, and the pool goes on (server only)', async () => {
    const target = await createTestDatabase()
    const store = await openPostgresStore({ databaseUrl: target.url, max: 2, copy: true })
    const admin = await openPostgresStore({ databaseUrl: target.url, max: 1, migrate: false, copy: false })
    try {
      const rows = seedEvents(20_000, { now: Date.parse('2026-11-20T12:00:00Z'), days: 3, seed: 12 })
      const writing = store.insertEvents(rows).then(
        () => null,
        (e: unknown) => e,
      )
      await expect
        .poll(async () => (await admin.sql`select pg_terminate_backend(pid) as t from pg_stat_activity where query like 'copy public.audit_events%'`).length, { interval: 5 })
        .toBe(1)
      const err = await writing
      expect(err).not.toBeNull()
      expect(store.isDataError(err)).toBe(false)
      expect(await store.insertEvents(rows)).toBe(20_000)
      expect(await store.insertEvents(rows)).toBe(0)
    } finally {
      await admin.close()
      await store.close()
      await target.drop()
    }
  })
})
