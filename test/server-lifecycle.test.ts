/**
 * The real server process, started with the README's start command: 10,000
 * events POSTed in batches of 500, SIGTERM right after the last 201, a
 * restart, and every event is there.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '@audit/core/testing'
import { freePort, startServer } from './server-process.ts'

describe(`server lifecycle (${process.env.TEST_DATABASE_URL ? 'postgres store, ' + describeEngine() : 'pglite store'})`, () => {
  let dataDir: string
  let db: TestDatabase | undefined
  const env: Record<string, string> = {}

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'audit-e2e-'))
    env.AUDIT_DATA_DIR = dataDir
    env.PORT = String(await freePort())
    // every total below is compared exactly (the default cap estimates past 1,000)
    env.AUDIT_COUNT_CAP = '100000'
    if (process.env.TEST_DATABASE_URL) {
      db = await createTestDatabase()
      env.DATABASE_URL = db.url
    }
  })
  afterAll(async () => {
    await db?.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('loses no accepted event across SIGTERM and a restart', async () => {
    const server = await startServer(env)
    const auth = { authorization: `Bearer ${server.token}` }
    const TOTAL = 10_000
    const BATCH = 500
    let busy = 0
    const ids = new Set<string>()
    for (let i = 0; i < TOTAL; i += BATCH) {
      const events = Array.from({ length: BATCH }, (_, j) => ({
        source: 'e2e-load',
        operation_type: 'bulk_ingest',
        result: 'success',
        message: `event ${i + j}`,
        extra_info: { n: i + j },
      }))
      for (;;) {
        const res = await fetch(`${server.url}api/v1/audit/events`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        })
        if (res.status === 503) {
          busy++
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 100))
          continue
        }
        expect(res.status).toBe(201)
        for (const id of ((await res.json()) as { ids: string[] }).ids) ids.add(id)
        break
      }
    }
    await server.stop('SIGTERM')
    expect(server.output()).not.toMatch(/could not write|unwritten":[1-9]/)
    expect(ids.size).toBe(TOTAL)

    const again = await startServer(env)
    const res = await fetch(`${again.url}api/v1/audit/events?source=e2e-load&limit=1000`, { headers: { authorization: `Bearer ${again.token}` } })
    const page = (await res.json()) as { total: number }
    expect(page.total).toBe(TOTAL)
    // the same admin key came back from the data directory
    expect(again.token).toBe(server.token)
    await again.stop()
    console.log(`lifecycle: ${TOTAL} accepted, ${busy} batches told to retry (503), ${page.total} found after restart`)
  }, 240_000)
})
