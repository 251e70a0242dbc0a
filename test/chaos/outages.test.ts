/**
 * The database goes away while events stream in (issue 12, item 1): it is
 * stopped for 10 s and for 60 s, frozen for 5 s (connections open, nothing
 * answers), or requests arrive while it is down. When it is back the
 * service recovers by itself, and every acknowledged event is in the
 * database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterUnavailable, startCluster, type ChaosCluster } from './cluster.ts'
import { call, checkScenario, freshDatabase, makeEvents, newRecord, sendBatch, sleep, startChaosServer, startLoad, stopAllServers, waitRecovered } from './harness.ts'

const unavailable = clusterUnavailable()
if (unavailable) console.warn(`chaos: database outage scenarios skipped: ${unavailable}`)

/** How long the service gets to recover once the database is back (a working one needs the capped retry delay, 2 s). */
const RECOVER_WITHIN_MS = 20_000

describe.skipIf(unavailable !== undefined)('chaos: database outages', () => {
  let cluster: ChaosCluster
  beforeAll(async () => {
    cluster = await startCluster()
  })
  afterAll(async () => {
    await stopAllServers()
    await cluster?.destroy()
  })

  async function outage(name: string, downMs: number, how: 'stopped' | 'frozen' = 'stopped') {
    const { url, db } = await freshDatabase(cluster, name)
    const server = await startChaosServer({ databaseUrl: url })
    const load = startLoad(server, { label: name, maxMs: downMs + 60_000 })
    try {
      await sleep(2000)
      if (how === 'stopped') await cluster.stop({ mode: 'fast' })
      else cluster.pause()
      await sleep(downMs)
      if (how === 'stopped') await cluster.start()
      else cluster.resume()
      const recoveryMs = (await waitRecovered(server, load.record, RECOVER_WITHIN_MS)) ?? null
      await sleep(1000) // the stream goes on for a moment on the recovered service
      const record = await load.stop()
      const row = await checkScenario({
        scenario: `database ${how} ${downMs / 1000} s while events stream in`,
        record,
        db,
        server,
        recoveryMs,
        idleWithinMs: recoveryMs === null ? 3000 : 30_000,
      })
      expect(row.problems).toEqual([])
    } finally {
      cluster.resume()
      await load.stop()
      await server.stop('SIGTERM', 20_000)
    }
  }

  it('recovers after the database was stopped for 10 s', () => outage('outage_10s', 10_000), 180_000)

  it('recovers after the database was stopped for 60 s', () => outage('outage_60s', 60_000), 240_000)

  it('recovers after the database was frozen for 5 s', () => outage('frozen_5s', 5000, 'frozen'), 180_000)

  it('recovers after ~15 requests were sent while the database was down', async () => {
    const { url, db } = await freshDatabase(cluster, 'down_requests')
    const server = await startChaosServer({ databaseUrl: url })
    const record = newRecord()
    try {
      for (let i = 0; i < 3; i++) await sendBatch(server, makeEvents('down-requests', i, 10), false, record)
      await cluster.stop({ mode: 'fast' })
      // Ingest (both modes) and reads, one after the other, as a client that keeps trying would.
      const reads: (number | string)[] = []
      for (let i = 0; i < 15; i++) {
        if (i % 5 === 4) reads.push((await call(server, 'api/v1/audit/events?limit=5', { timeoutMs: 3000 })).status)
        else await sendBatch(server, makeEvents('down-requests', 100 + i, 10), i % 5 === 3, record, { timeoutMs: 3000 })
      }
      await cluster.start()
      const recoveryMs = (await waitRecovered(server, record, RECOVER_WITHIN_MS)) ?? null
      const row = await checkScenario({
        scenario: '15 requests while the database is down',
        record,
        db,
        server,
        recoveryMs,
        idleWithinMs: recoveryMs === null ? 3000 : 30_000,
        notes: [`reads during the outage answered ${reads.join(', ')}`],
      })
      expect(row.problems).toEqual([])
    } finally {
      await server.stop('SIGTERM', 20_000)
    }
  }, 180_000)
})
