/**
 * Retention is off unless its owner configures it, and a scheduled run
 * happens once per cluster however many replicas run it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { EventRow } from '@audit/core'
import { createTestDatabase, type TestDatabase } from '@audit/core/testing'
import { openPostgresStore } from '@audit/core/postgres'
import { newEventId } from '../packages/audit-core/src/uuid7.ts'
import { loadServerConfig } from '../apps/api/src/config.ts'
import { createApp } from '../apps/api/src/app.ts'
import { RETENTION_LOCK, parseRetention, runScheduledRetention } from '../apps/api/src/retention.ts'
import { testApp } from '../apps/api/test-support/test-app.ts'

const DAY = 86_400_000
const now = Date.parse('2026-11-20T12:00:00.000Z')
const old = (severity: EventRow['severity'], days: number): EventRow =>
  ({ id: newEventId(), timestamp: new Date(now - days * DAY).toISOString(), source: 'system', operation_type: 'aging', result: 'success', severity })
const rows = (['debug', 'info', 'warning', 'error', 'critical'] as const).map((s) => old(s, 400))

describe('retention by default', () => {
  it('the default configuration keeps everything and arms no schedule', () => {
    const config = loadServerConfig({ AUDIT_STORE: 'pglite' })
    expect(Object.values(config.retention)).toEqual([0, 0, 0, 0, 0])
    expect(config.retentionSchedule).toBeNull()
    const set = loadServerConfig({ AUDIT_STORE: 'pglite', AUDIT_RETENTION_DAYS: '365' })
    expect(Object.values(set.retention)).toEqual([365, 365, 365, 365, 365])
    expect(set.retentionSchedule).toEqual({ hour: 3, minute: 0 })
  })

  it('400-day-old events of every severity survive a run with the default configuration, and the run is recorded', async () => {
    const t = await testApp()
    await t.store.insertEvents(rows)
    const app = createApp({ store: t.store, audit: t.audit, keys: [], cronSecret: 'cron-secret-0123456789', retention: loadServerConfig({ AUDIT_STORE: 'pglite' }).retention })
    const run = await app.request('/api/v1/audit/retention/run', { method: 'POST', headers: { authorization: 'Bearer cron-secret-0123456789' } })
    expect(run.status).toBe(200)
    expect(((await run.json()) as { total: number }).total).toBe(0)
    await t.audit.flush()
    expect((await t.store.queryEvents({ filters: { operation_type: ['aging'] }, limit: 10 })).total).toBe(5)
    expect((await t.store.queryEvents({ filters: { operation_type: ['audit_retention'] }, limit: 10 })).total).toBe(1)
    await t.close()
  })
})

describe.runIf(process.env.TEST_DATABASE_URL)('a scheduled run, once per cluster (Postgres advisory lock)', () => {
  // real time: the skip reads the run's own event, written at the clock's time
  const at = Date.now()
  const aged = (severity: EventRow['severity']) => ({ ...old(severity, 0), timestamp: new Date(at - 400 * DAY).toISOString() })
  let db: TestDatabase
  beforeEach(async () => {
    db = await createTestDatabase()
  })
  afterEach(() => db.drop())

  it('three replicas firing together: one runs, the others skip; a late one sees the run and skips', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ databaseUrl: db.url })))
    await stores[0]!.insertEvents((['debug', 'info', 'warning', 'error', 'critical'] as const).map(aged))
    const apps = await Promise.all(stores.map((store) => testApp({ store })))
    const policy = parseRetention('100')
    const reports = await Promise.all(apps.map((a) => runScheduledRetention(a.store, a.audit, policy, at)))
    expect(reports.filter((r) => r !== null)).toHaveLength(1)
    expect(reports.find((r) => r !== null)?.total).toBe(5)
    expect(await runScheduledRetention(apps[1]!.store, apps[1]!.audit, policy, at + 60_000)).toBeNull()
    const runs = await apps[0]!.store.queryEvents({ filters: { operation_type: ['audit_retention'] }, limit: 10 })
    expect(runs.total).toBe(1)
    await Promise.all(apps.map((a) => a.close()))
  })

  it('while another session holds the lock, a replica skips and deletes nothing', async () => {
    const store = await openPostgresStore({ databaseUrl: db.url })
    await store.insertEvents([aged('info')])
    const t = await testApp({ store })
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      await holder.query('select pg_advisory_lock(hashtext($1))', [RETENTION_LOCK])
      expect(await runScheduledRetention(t.store, t.audit, parseRetention('100'), at)).toBeNull()
      expect((await store.queryEvents({ filters: { operation_type: ['aging'] }, limit: 10 })).total).toBe(1)
    } finally {
      await holder.end()
      await t.close()
    }
  })
})
