/**
 * Upgrade in place from the Python service's table: the primary seed's exact
 * CREATE TABLE with rows in it, then the store starts (migrations run), old
 * writers go on inserting only the seed's eight columns, and the API serves
 * old and new rows alike: list, one event, stats, export (the page reads
 * the same list and stats). On PGlite (over the wire) always, and on the
 * Postgres server with TEST_DATABASE_URL.
 */
import { readFileSync } from 'node:fs'
import Papa from 'papaparse'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '@audit/core/testing'
import { openPostgresStore } from '@audit/core/postgres'
import { testApp } from '../apps/api/test-support/test-app.ts'

// The seed's DDL, read from the seed itself when it is at hand, else as it stands there (003_992d1ad7b4c991b0.txt).
const SEED_DDL = `CREATE TABLE audit_events (
  id UUID DEFAULT gen_random_uuid() PRIMARY KEY,
  timestamp TIMESTAMPTZ DEFAULT NOW() NOT NULL,
  source VARCHAR(50) NOT NULL,
  operator VARCHAR(255),
  operation_type VARCHAR(100) NOT NULL,
  result VARCHAR(20) NOT NULL,
  message TEXT,
  extra_info JSONB
);`
const seedFile = '/work/shared/seeds/003_992d1ad7b4c991b0.txt'
const fromSeed = (() => {
  try {
    return /CREATE TABLE audit_events \([\s\S]*?\n\);/.exec(readFileSync(seedFile, 'utf8'))?.[0]
  } catch {
    return undefined
  }
})()

const OLD_ROWS = `
insert into audit_events (timestamp, source, operator, operation_type, result, message, extra_info) values
  ('2026-11-19T08:00:00.123456Z', 'api-service', 'ana@example.com', 'stock_price_download', 'success', 'Downloaded AAPL', '{"symbol": "AAPL"}'),
  ('2026-11-19T09:00:00Z', 'background-job', null, 'scan_process', 'failure', 'Scan failed', '{"symbol": "MSFT"}'),
  ('2026-11-19T10:00:00Z', 'system', null, 'cache_refresh', 'warning', null, null);`

describe(`upgrade in place from the Python service's table on ${describeEngine()}`, () => {
  let db: TestDatabase
  let t: Awaited<ReturnType<typeof testApp>>
  beforeAll(async () => {
    db = await createTestDatabase()
    await db.exec(SEED_DDL + OLD_ROWS)
    t = await testApp({ store: await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions }) })
    // an old writer, after the upgrade: the seed's columns only
    await db.exec(
      "insert into audit_events (source, operator, operation_type, result, message, extra_info) values ('api-service', 'bo@example.com', 'config_update', 'failure', 'Old writer after the upgrade', '{\"symbol\": \"AAPL\"}')",
    )
    const r = await t.call('/api/v1/audit/events', { body: { source: 'frontend', operation_type: 'scan_process', result: 'success', actor_type: 'creator', severity: 'debug' } })
    expect(r.status).toBe(201)
  }, 120_000)
  afterAll(async () => {
    await t.close()
    await db.drop()
  })

  it('uses the seed document’s exact DDL', () => {
    if (fromSeed !== undefined) expect(fromSeed).toBe(SEED_DDL)
  })

  it('lists old and new rows, every old row with the severity its result gives', async () => {
    const r = await t.call('/api/v1/audit/events?order=asc', { key: 'read' })
    expect(r.status).toBe(200)
    expect(r.json.total).toBe(5)
    const bySev = Object.fromEntries(r.json.events.map((e: { message: string | null; operation_type: string; severity: string }) => [e.message ?? e.operation_type, e.severity]))
    expect(bySev).toEqual({ 'Downloaded AAPL': 'info', 'Scan failed': 'error', cache_refresh: 'warning', 'Old writer after the upgrade': 'error', scan_process: 'debug' })
    expect(r.json.events[0].timestamp).toBe('2026-11-19T08:00:00.123456Z')
    expect(r.json.events[0].request_id).toBeNull()
  })

  it('answers stats over old and new rows', async () => {
    const r = await t.call('/api/v1/audit/stats?group_by=extra.symbol', { key: 'read' })
    expect(r.status).toBe(200)
    expect(r.json.total).toBe(5)
    expect(r.json.by_severity).toEqual({ info: 1, error: 2, warning: 1, debug: 1 })
    expect(r.json.groups).toEqual([
      { value: 'AAPL', count: 2 },
      { value: 'MSFT', count: 1 },
    ])
  })

  it('exports old and new rows', async () => {
    const r = await t.call('/api/v1/audit/events/export?format=csv&order=asc', { key: 'read' })
    expect(r.status).toBe(200)
    const rows = Papa.parse<Record<string, string>>(r.text, { header: true, skipEmptyLines: true }).data
    expect(rows.map((x) => x.severity)).toEqual(['info', 'error', 'warning', 'error', 'debug'])
    expect(rows[0]?.timestamp).toBe('2026-11-19T08:00:00.123456Z')
  })

  it('finds an old row by its own timestamp as both bounds, and by id', async () => {
    const ts = '2026-11-19T08:00:00.123456Z'
    const r = await t.call(`/api/v1/audit/events?start_date=${ts}&end_date=${ts}`, { key: 'read' })
    expect(r.json.events.map((e: { message: string }) => e.message)).toEqual(['Downloaded AAPL'])
    const one = await t.call(`/api/v1/audit/events/${r.json.events[0].id as string}`, { key: 'read' })
    expect(one.json.severity).toBe('info')
  })

  it('stays append-only after the backfill: no UPDATE path is left', async () => {
    await expect(db.exec("update audit_events set message = 'x'")).rejects.toThrow(/append-only/)
  })
})
