import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '../testing/postgres.ts'
import { runStoreConformance } from '../testing/conformance.ts'
import { migratePostgres, openPostgresStore } from './postgres-store.ts'

let db: TestDatabase
// so that a CI log shows which engine the suite ran on
beforeAll(() => console.log(`postgres store conformance runs on: ${describeEngine()}`))
runStoreConformance(`postgres.js on ${describeEngine()}`, {
  open: async () => {
    db = await createTestDatabase()
    return openPostgresStore({ databaseUrl: db.url, max: db.maxConnections })
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
    const open = () => openPostgresStore({ databaseUrl: other.url, max: 1 })
    // On PGlite (one backend) concurrent connections would interleave their messages; open them in turn there.
    const stores =
      other.engine === 'server' ? await Promise.all([open(), open(), open()]) : [await open(), await open(), await open()]
    const applied = await stores[0]!.sql`select name from audit_meta.schema_migrations`
    expect(applied.length).toBeGreaterThan(0)
    expect(await migratePostgres(stores[0]!.sql)).toEqual([])
    await Promise.all(stores.map((s) => s.close()))
  })
})
