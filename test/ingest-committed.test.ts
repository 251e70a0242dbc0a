/**
 * Issue 12, item 6: an acknowledged event is committed. The real server
 * process takes 1,000 events (two POSTs of 500, each answered 201), is
 * killed with SIGKILL the moment the last answer arrives, and after a
 * restart every acknowledged id is in the database, once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '@audit/core/testing'
import { freePort, startServer } from './server-process.ts'

describe(`201 means committed (${process.env.TEST_DATABASE_URL ? 'postgres store, ' + describeEngine() : 'pglite store'})`, () => {
  let dataDir: string
  let db: TestDatabase | undefined
  const env: Record<string, string> = {}

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'audit-kill-'))
    env.AUDIT_DATA_DIR = dataDir
    env.PORT = String(await freePort())
    env.AUDIT_COUNT_CAP = '100000'
    // nothing is written by the interval: only a commit before the answer can save these events
    env.AUDIT_FLUSH_INTERVAL_MS = '3600000'
    env.AUDIT_BATCH_SIZE = '10000'
    if (process.env.TEST_DATABASE_URL) {
      db = await createTestDatabase()
      env.DATABASE_URL = db.url
    }
  })
  afterAll(async () => {
    await db?.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('every event answered 201 is in the database after a SIGKILL right after the answer', async () => {
    const server = await startServer(env)
    const auth = { authorization: `Bearer ${server.token}` }
    const acknowledged: string[] = []
    try {
      for (let i = 0; i < 2; i++) {
        const events = Array.from({ length: 500 }, (_, j) => ({ source: 'e2e-kill', operation_type: 'killed_after_ack', result: 'success', message: `event ${i * 500 + j}` }))
        const res = await fetch(`${server.url}api/v1/audit/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ events }) })
        expect(res.status).toBe(201)
        acknowledged.push(...((await res.json()) as { ids: string[] }).ids)
      }
    } finally {
      await server.stop('SIGKILL')
    }

    const again = await startServer(env)
    const found: string[] = []
    try {
      for (let offset = 0; ; offset += 1000) {
        const res = await fetch(`${again.url}api/v1/audit/events?source=e2e-kill&limit=1000&offset=${offset}`, { headers: { authorization: `Bearer ${again.token}` } })
        const page = (await res.json()) as { events: { id: string }[]; has_more: boolean }
        found.push(...page.events.map((e) => e.id))
        if (!page.has_more) break
      }
    } finally {
      await again.stop()
    }
    expect(acknowledged).toHaveLength(1000)
    expect(found.sort()).toEqual([...acknowledged].sort())
  }, 300_000)
})
