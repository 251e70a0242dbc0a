/**
 * The database goes away while events stream in (issue 12, item 1): it is
 * stopped for 10 s and for 60 s, frozen for 5 s (connections open, nothing
 * answers), or requests arrive while it is down. When it is back the
 * service recovers by itself, and every acknowledged event is in the
 * database.
 */
import { describe, expect, it } from 'vitest'
import { clusterUnavailable, type ChaosCluster } from './cluster.ts'
import { call, checkScenario, freshDatabase, makeEvents, newRecord, sendBatch, sleep, startChaosServer, startLoad, withSuiteCluster, waitRecovered } from './harness.ts'

const unavailable = clusterUnavailable()
if (unavailable) console.warn(`chaos: database outage scenarios skipped: ${unavailable}`)

describe.skipIf(unavailable !== undefined)('chaos: database outages', () => {
  let cluster!: ChaosCluster
  withSuiteCluster((c) => (cluster = c))

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
      const recoveryMs = (await waitRecovered(server, load.record)) ?? null
      await sleep(1000) // the stream goes on for a moment on the recovered service
      const record = await load.stop()
      const row = await checkScenario({
        scenario: `database ${how} ${downMs / 1000} s while events stream in`,
        record,
        db,
        server,
        recoveryMs,
      })
      expect(row.problems).toEqual([])
    } finally {
      cluster.resume()
      await load.stop()
      await server.stop()
      // the next scenario needs the database, however this one ended
      if (cluster.postmasterPid() === undefined) await cluster.start()
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
      // Reads of every kind and ingest in both modes, one after the other, as
      // clients that keep trying would: more than the pool has connections.
      const reads: Record<string, number> = {}
      const READS = ['api/v1/audit/events?limit=5', 'api/v1/audit/stats', `api/v1/audit/events/${makeEvents('x', 0, 1)[0]?.id}`, 'api/v1/audit/events/export?format=ndjson&operation_type=none']
      for (let i = 0; i < 15; i++) {
        if (i % 3 === 2) await sendBatch(server, makeEvents('down-requests', 100 + i, 10), i % 2 === 1, record, { timeoutMs: 3000 })
        else {
          const status = String((await call(server, READS[i % READS.length] as string, { timeoutMs: 3000 })).status)
          reads[status] = (reads[status] ?? 0) + 1
        }
      }
      await cluster.start()
      const recoveryMs = (await waitRecovered(server, record)) ?? null
      const row = await checkScenario({
        scenario: '15 requests while the database is down',
        record,
        db,
        server,
        recoveryMs,
        notes: [`reads during the outage answered ${JSON.stringify(reads)}`],
      })
      expect(row.problems).toEqual([])
    } finally {
      await server.stop()
      if (cluster.postmasterPid() === undefined) await cluster.start()
    }
  }, 180_000)
})
