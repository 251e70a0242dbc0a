/**
 * Two server processes on one embedded (PGlite) data directory (item 15):
 * the second refuses to start with a clear message, so the first keeps the
 * only copy of the truth; when the holder dies without cleaning up (SIGKILL
 * once its queue is empty), a new process takes the directory over and
 * every acknowledged event is there. Needs no Postgres server: runs
 * everywhere.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgliteStore } from '@audit/core/pglite'
import { IDLE_WITHIN_MS, checkScenario, makeEvents, newRecord, sendBatch, startChaosServer, stopAllServers, waitIdle, type ChaosServer, type Db } from './harness.ts'

describe('chaos: two processes on one PGlite directory', () => {
  let dataDir: string
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'audit-chaos-pglite-'))
  })
  afterAll(async () => {
    await stopAllServers()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('refuses a second server on the same AUDIT_DATA_DIR, and recovers a stale lock (item 15)', async () => {
    const problems: string[] = []
    const notes: string[] = []
    const record = newRecord()
    const first = await startChaosServer({ dataDir })
    for (let i = 0; i < 10; i++) await sendBatch(first, makeEvents('pglite_first', i, 50), i % 2 === 1, record, { resend: 3 })

    let second: ChaosServer | undefined
    try {
      second = await startChaosServer({ dataDir })
    } catch (err) {
      const message = (err as Error).message
      const said = message.split('\n').filter((l) => /lock|in use|already|another|pid/i.test(l))
      notes.push(`the second server refused: ${said[0]?.trim().slice(0, 200) ?? '(no line about the lock)'}`)
      if (!said.length) problems.push('the second server exited without saying the directory is in use')
    }
    if (second) {
      problems.push('a second server started on the same data directory')
      // what it does meanwhile: the first must not lose what it acknowledged
      for (let i = 0; i < 4; i++) await sendBatch(second, makeEvents('pglite_second', i, 50), false, record)
      await second.stop('SIGTERM')
    }

    // The holder dies with an empty queue: its lock is stale, the next process must take over.
    if (!(await waitIdle(first, IDLE_WITHIN_MS))) problems.push('the first server did not empty its queue')
    await first.stop('SIGKILL')
    let third: ChaosServer | undefined
    try {
      third = await startChaosServer({ dataDir })
    } catch (err) {
      problems.push(`no server could start after the holder was killed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`)
    }

    let store: Awaited<ReturnType<typeof openPgliteStore>> | undefined
    const db: Db = { query: async (text, params) => (await (store as NonNullable<typeof store>).db.query(text, params)).rows as never }
    try {
      const row = await checkScenario({
        scenario: 'two servers on one PGlite data directory',
        record,
        db,
        server: third,
        notes,
        problems,
        async beforeDb() {
          await third?.stop('SIGTERM')
          store = await openPgliteStore({ dataDir })
        },
      })
      expect(row.problems).toEqual([])
    } finally {
      await store?.close()
    }
  }, 240_000)
})
