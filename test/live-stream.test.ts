/**
 * GET /api/v1/audit/events/stream: a live tail as server-sent events.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLogger, type AuditEvent, type EventRow } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { createApp } from '../apps/api/src/app.ts'
import { apiKey } from '../apps/api/src/auth.ts'
import { liveStreams } from '../apps/api/src/live-tail.ts'
import { PRODUCTION, freePort, startServer } from './server-process.ts'

const S = '/api/v1/audit/events/stream'
const READ = 'read-secret-0123456789'
const INGEST = 'ingest-secret-0123456789'
const store = await openPgliteStore({ dataDir: 'memory://' })
const audit = createAuditLogger({ store, log: { warn() {}, error() {} }, source: 'system' })
const streams = liveStreams(3)
const app = createApp({ store, audit, keys: [apiKey('read', READ), apiKey('ingest', INGEST)], streams, streamPollMs: 100, streamMaxPerSecond: 50 })

let n = 0
const row = (over: Partial<EventRow> = {}): EventRow => ({
  id: `01900000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
  timestamp: new Date().toISOString(),
  source: 'api-service',
  operator: 'alice@example.com',
  operation_type: 'login',
  result: 'success',
  severity: 'info',
  message: `event ${n}`,
  extra_info: null,
  ...over,
})

/** Opens a stream and collects what it sends. */
async function open(query = '', headers: Record<string, string> = {}) {
  const res = await app.request(`${S}${query}`, { headers: { authorization: `Bearer ${READ}`, ...headers } })
  const messages: EventSourceMessage[] = []
  let raw = ''
  let ended: Promise<void> = Promise.resolve()
  let reader: ReadableStreamDefaultReader<string> | undefined
  if (res.status === 200) {
    const parser = createParser({ onEvent: (m) => messages.push(m) })
    reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    ended = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
        if (done) break
        raw += value ?? ''
        parser.feed(value ?? '')
      }
    })()
  }
  const events = () => messages.filter((m) => !m.event).map((m) => JSON.parse(m.data) as AuditEvent)
  return {
    res,
    messages,
    events,
    raw: () => raw,
    ended: () => ended,
    // as a client that goes away: the server sees the body cancelled
    close: () => void reader?.cancel(),
    async until(pred: () => boolean, ms = 3000) {
      const end = Date.now() + ms
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(messages)}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
  }
}

beforeAll(async () => {
  await store.insertEvents([row({ message: 'before the stream' })])
})
afterAll(async () => {
  streams.closeAll()
  await audit.shutdown({ deadlineMs: 1000 })
  await store.close()
})

describe('GET /events/stream', () => {
  it('needs a key that may read, and refuses unknown parameters', async () => {
    expect((await app.request(S)).status).toBe(401)
    expect((await app.request(S, { headers: { authorization: `Bearer ${INGEST}` } })).status).toBe(403)
    const bad = await app.request(`${S}?colour=red`, { headers: { authorization: `Bearer ${READ}` } })
    expect(bad.status).toBe(422)
  })

  it('sends new events that match the filters, not older ones nor others', async () => {
    const s = await open('?result=failure&source=api-service')
    expect(s.res.headers.get('content-type')).toBe('text/event-stream')
    const failure = row({ result: 'failure' })
    await store.insertEvents([row({ result: 'success' }), failure, row({ result: 'failure', source: 'frontend' })])
    await s.until(() => s.events().length >= 1)
    // one more poll: nothing else arrives
    await new Promise((r) => setTimeout(r, 250))
    expect(s.events().map((e) => e.id)).toEqual([failure.id])
    expect(s.messages[0]!.id).toBe(failure.id)
    s.close()
  })

  it('sends an event committed after a newer one it already sent', async () => {
    const s = await open('?operator=late@example.com')
    const t = Date.now()
    const newer = row({ operator: 'late@example.com', timestamp: new Date(t).toISOString() })
    await store.insertEvents([newer])
    await s.until(() => s.events().length === 1)
    const older = row({ operator: 'late@example.com', timestamp: new Date(t - 2000).toISOString() })
    await store.insertEvents([older])
    await s.until(() => s.events().length === 2)
    expect(s.events().map((e) => e.id)).toEqual([newer.id, older.id])
    s.close()
  })

  it('goes on after Last-Event-ID', async () => {
    const op = 'resume@example.com'
    const s = await open(`?operator=${op}`)
    const a = row({ operator: op })
    await store.insertEvents([a])
    await s.until(() => s.events().length === 1)
    s.close()
    // written while nobody listened
    const b = row({ operator: op, timestamp: new Date(Date.now() + 1).toISOString() })
    const c = row({ operator: op, timestamp: new Date(Date.now() + 2).toISOString() })
    await store.insertEvents([b, c])
    const again = await open(`?operator=${op}`, { 'last-event-id': a.id })
    await again.until(() => again.events().length === 2)
    expect(again.events().map((e) => e.id)).toEqual([b.id, c.id])
    again.close()
  })

  it('caps the rate and says how many it dropped', async () => {
    const s = await open('?operator=flood@example.com')
    const t = Date.now()
    // 5 per 100 ms poll at 50/s
    await store.insertEvents(Array.from({ length: 12 }, (_, i) => row({ operator: 'flood@example.com', timestamp: new Date(t + i).toISOString() })))
    await s.until(() => s.messages.some((m) => m.event === 'dropped'))
    expect(s.events()).toHaveLength(5)
    expect(JSON.parse(s.messages.find((m) => m.event === 'dropped')!.data)).toEqual({ dropped: 7 })
    s.close()
  })

  it('refuses streams past the cap, and ends every stream at shutdown', async () => {
    const open3 = await Promise.all([open(), open(), open()])
    await new Promise((r) => setTimeout(r, 50))
    const fourth = await app.request(S, { headers: { authorization: `Bearer ${READ}` } })
    expect(fourth.status).toBe(503)
    expect(fourth.headers.get('retry-after')).toBe('5')
    expect(streams.count).toBe(3)
    const ended = open3.map((s) => s.ended())
    streams.closeAll()
    await Promise.race([Promise.allSettled(ended), new Promise((_, reject) => setTimeout(() => reject(new Error('streams did not end')), 1000))])
    expect(streams.count).toBe(0)
  })
})

describe('the server process with a live stream open', () => {
  it('exits promptly on SIGTERM: the stream is ended, not waited for', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'audit-live-'))
    const server = await startServer({ AUDIT_DATA_DIR: dataDir, PORT: String(await freePort()) }, PRODUCTION)
    try {
      const res = await fetch(`${server.url}api/v1/audit/events/stream`, { headers: { authorization: `Bearer ${server.token}` } })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      await reader.read() // the stream is open
      const t0 = performance.now()
      server.signal('SIGTERM')
      const exit = await server.exited
      const ms = performance.now() - t0
      expect(exit.code).toBe(0)
      // the HTTP drain would wait 5 s for a request still in progress
      expect(ms).toBeLessThan(2000)
      expect((await reader.read()).done).toBe(true)
    } finally {
      server.signal('SIGKILL')
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
