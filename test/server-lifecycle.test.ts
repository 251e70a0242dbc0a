/**
 * The real server process, started with the README's commands: 10,000 events
 * POSTed in batches of 500, SIGTERM right after the last acknowledgement, a
 * restart, and every event is there — also when the server is slow to write
 * and is signalled as a supervisor does; and a second server on the same
 * embedded data directory refuses to start.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEngine, type TestDatabase } from '@audit/core/testing'
import { PRODUCTION, freePort, spawnServer, startServer } from './server-process.ts'

const TOTAL = 10_000
const BATCH = 500

/**
 * POSTs `total` events in batches with `Prefer: respond-async` (acknowledged
 * from memory: the path a shutdown must flush), retrying a 503 as a client
 * would. Returns the acknowledged ids and how many batches were told to retry.
 */
async function ingest(server: { url: string; token: string }, source: string, total = TOTAL): Promise<{ ids: Set<string>; busy: number }> {
  let busy = 0
  const ids = new Set<string>()
  for (let i = 0; i < total; i += BATCH) {
    const events = Array.from({ length: BATCH }, (_, j) => ({
      source,
      operation_type: 'bulk_ingest',
      result: 'success',
      message: `event ${i + j}`,
      extra_info: { n: i + j },
    }))
    for (;;) {
      const res = await fetch(`${server.url}api/v1/audit/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify({ events }),
      })
      if (res.status === 503) {
        busy++
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 100))
        continue
      }
      // 201 once committed, 202 when acknowledged from memory
      expect([201, 202]).toContain(res.status)
      for (const id of ((await res.json()) as { ids: string[] }).ids) ids.add(id)
      break
    }
  }
  return { ids, busy }
}

async function countEvents(server: { url: string; token: string }, source: string): Promise<number> {
  const res = await fetch(`${server.url}api/v1/audit/events?source=${source}&limit=1`, { headers: { authorization: `Bearer ${server.token}` } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { total: number }).total
}

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
    const { ids, busy } = await ingest(server, 'e2e-load')
    await server.stop('SIGTERM')
    expect(server.output()).not.toMatch(/could not write|not written|unwritten":[1-9]/)
    expect(ids.size).toBe(TOTAL)

    const again = await startServer(env)
    const total = await countEvents(again, 'e2e-load')
    expect(total).toBe(TOTAL)
    // the same admin key came back from the data directory
    expect(again.token).toBe(server.token)
    await again.stop()
    console.log(`lifecycle: ${TOTAL} accepted, ${busy} batches told to retry (503), ${total} found after restart`)
  }, 240_000)
})

describe('server lifecycle under a supervisor (pglite store, production command)', () => {
  // Every acknowledged event is still queued when SIGTERM comes: a batch is
  // written only at QUEUED events (more than are sent) or after an hour, so
  // the whole write happens during the shutdown — where a wrapper that kills
  // its child 60 ms after relaying SIGTERM (tsx) lost events.
  const QUEUED = 9_500
  let dataDir: string
  const env: Record<string, string> = {
    AUDIT_STORE: 'pglite',
    DATABASE_URL: '',
    AUDIT_COUNT_CAP: '100000',
    LOG_LEVEL: 'info',
    AUDIT_LOGGING_QUEUE_SIZE: String(2 * TOTAL),
    AUDIT_BATCH_SIZE: String(TOTAL),
    AUDIT_FLUSH_INTERVAL_MS: '3600000',
    AUDIT_WRITE_CONCURRENCY: '1',
    AUDIT_SHUTDOWN_DEADLINE_MS: '600000',
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'audit-e2e-'))
    env.AUDIT_DATA_DIR = dataDir
    env.PORT = String(await freePort())
  })
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })

  it('a second server on the same data directory refuses; SIGTERM to the group writes every queued event and exits 0', async () => {
    const server = await startServer(env, PRODUCTION)

    // A rolling restart that starts the new process before the old one has exited.
    const second = spawnServer({ ...env, PORT: String(await freePort()) })
    const refused = await second.exited
    await second.closed
    expect(refused.code).not.toBe(0)
    expect(second.output()).toContain(`data directory ${dataDir} is in use by process ${server.pid} `)
    expect(second.output()).not.toContain('Audit events page')

    const { ids } = await ingest(server, 'e2e-slow', QUEUED)
    expect(ids.size).toBe(QUEUED)
    // As a supervisor stops a service (systemd's control group, docker's
    // process), then an impatient second signal while it is still writing.
    server.signal('SIGTERM')
    server.signal('SIGINT')
    const { code, signal } = await server.exited
    await server.closed
    const out = server.output()
    const depth = Number(/"queueDepth":(\d+),"msg":"shutting down/.exec(out)?.[1])
    expect(depth).toBe(QUEUED)
    expect(out).toContain('"msg":"signal while shutting down: ignored')
    expect(out).toContain('shut down: everything queued was written')
    expect({ code, signal }).toEqual({ code: 0, signal: null })

    const again = await startServer(env)
    const total = await countEvents(again, 'e2e-slow')
    await again.stop()
    expect(total).toBe(QUEUED)
    const took = (msg: string) => Number(new RegExp(`"time":(\\d+)[^\\n]*"msg":"${msg}`).exec(out)?.[1])
    const ms = took('shut down: everything') - took('shutting down')
    console.log(`supervised stop: ${QUEUED} acknowledged, ${depth} still queued at SIGTERM, written in ${ms} ms, ${total} found after restart`)
  }, 300_000)
})
