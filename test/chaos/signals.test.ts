/**
 * The server is stopped under load, as a process manager stops it: SIGTERM
 * (item 7: every acknowledged event is written before it exits, those
 * answered 202 too) and SIGKILL (item 6: every event answered 201 is
 * already in the database). The database is frozen for a moment before the
 * signal, so that there is something in flight when it comes; for SIGTERM
 * the service's own process is also stopped for 300 ms as the signal
 * arrives (a slow process: a wrapper that kills what does not answer at
 * once loses what it held).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterUnavailable, startCluster, type ChaosCluster } from './cluster.ts'
import { checkScenario, freshDatabase, listeningPid, sleep, startChaosServer, startLoad, stopAllServers, type ChaosServer, type Db } from './harness.ts'

const unavailable = clusterUnavailable()
if (unavailable) console.warn(`chaos: server signal scenarios skipped: ${unavailable}`)

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

describe.skipIf(unavailable !== undefined)('chaos: server signals', () => {
  let cluster: ChaosCluster
  let url: string
  let db: Db
  /** The server started after the SIGTERM, which then meets the SIGKILL. */
  let next: ChaosServer | undefined
  beforeAll(async () => {
    cluster = await startCluster()
    ;({ url, db } = await freshDatabase(cluster, 'signals'))
  })
  afterAll(async () => {
    cluster?.resume()
    await stopAllServers()
    await cluster?.destroy()
  })

  it('SIGTERM under load: every acknowledged event is written, 202 ones included (item 7)', async () => {
    const server = await startChaosServer({ databaseUrl: url })
    const load = startLoad(server, { label: 'sigterm', workers: 2, batch: 50, pauseMs: 10, asyncEvery: 2, resend: 0, maxMs: 60_000 })
    let slow: number | undefined
    try {
      await sleep(2000)
      cluster.pause() // slow database: the queue and waiting requests hold events when the signal comes
      await sleep(500)
      if (!load.running) throw new Error('the load ended before the signal: nothing would be in flight')
      slow = listeningPid(server)
      if (slow === undefined) throw new Error('cannot find the process listening on the server port')
      process.kill(slow, 'SIGSTOP')
      const stopping = server.stop('SIGTERM', 30_000)
      await sleep(300)
      signal(slow, 'SIGCONT') // gone already if something killed it meanwhile
      await sleep(1200)
      cluster.resume()
      await stopping
      const record = await load.stop()
      // A restart on the same database must serve the data at once.
      next = await startChaosServer({ databaseUrl: url })
      const row = await checkScenario({ scenario: 'SIGTERM under load (process stopped 0.3 s, database frozen 2 s around it)', record, db, server: next, asyncMustSurvive: true })
      expect(row.problems).toEqual([])
    } finally {
      if (slow !== undefined) signal(slow, 'SIGCONT')
      cluster.resume()
      await load.stop()
      await server.stop('SIGKILL')
    }
  }, 180_000)

  it('SIGKILL under load: every event answered 201 is in the database (item 6)', async () => {
    const server = next ?? (await startChaosServer({ databaseUrl: url }))
    const load = startLoad(server, { label: 'sigkill', workers: 2, batch: 50, pauseMs: 10, asyncEvery: 2, resend: 0, maxMs: 60_000 })
    let after: ChaosServer | undefined
    try {
      await sleep(2000)
      cluster.pause() // requests waiting for their commit must not have been told 201
      await sleep(500)
      if (!load.running) throw new Error('the load ended before the signal: nothing would be in flight')
      await server.stop('SIGKILL')
      cluster.resume()
      const record = await load.stop()
      after = await startChaosServer({ databaseUrl: url })
      const row = await checkScenario({ scenario: 'SIGKILL under load (database frozen 0.5 s before it)', record, db, server: after, asyncMustSurvive: false })
      expect(row.problems).toEqual([])
    } finally {
      cluster.resume()
      await load.stop()
      await server.stop('SIGKILL')
      await after?.stop()
    }
  }, 180_000)
})
