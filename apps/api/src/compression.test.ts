/**
 * Responses compressed as the client asks (Accept-Encoding): JSON, the
 * page's assets and exports; an export still streams, read no faster than
 * its client reads, and HEAD still says what GET would send without
 * sending it.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { constants, gunzipSync, inflateSync } from 'node:zlib'
import type { AuditStore } from '@audit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compressStream } from './compression.ts'
import { DEFAULT_WEB_DIST } from './routes/web.ts'
import { KEYS, testApp } from '../test-support/test-app.ts'

describe('compression, as the client asks (Accept-Encoding)', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  beforeAll(async () => {
    t = await testApp()
    // 1,500 events with a part that does not compress: more than one export page, and a first page that gzip cannot hold back
    for (let i = 0; i < 1500; i += 500) {
      const events = Array.from({ length: 500 }, (_, j) => ({ source: 'gz', operation_type: 'gz_test', result: 'success', message: `event ${i + j} ${randomBytes(24).toString('hex')}` }))
      expect((await t.call('/api/v1/audit/events', { body: { events } })).status).toBe(201)
    }
  })
  afterAll(async () => {
    await t.close()
  })
  const get = (p: string, headers: Record<string, string> = {}, method = 'GET') => t.app.request(p, { method, headers: { authorization: `Bearer ${KEYS.admin}`, ...headers } })

  it('JSON: gzip or deflate when asked, identity otherwise; the same document either way; Vary says so', async () => {
    const p = '/api/v1/audit/events?source=gz&limit=50'
    const plain = await get(p)
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i)
    const identity = Buffer.from(await plain.arrayBuffer())

    const gz = await get(p, { 'accept-encoding': 'gzip, deflate, br' })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(gz.headers.get('content-length')).toBeNull()
    const gzBytes = Buffer.from(await gz.arrayBuffer())
    expect(gunzipSync(gzBytes).equals(identity)).toBe(true)
    expect(gzBytes.length).toBeLessThan(identity.length / 1.5)

    const deflate = await get(p, { 'accept-encoding': 'deflate' })
    expect(deflate.headers.get('content-encoding')).toBe('deflate')
    expect(inflateSync(Buffer.from(await deflate.arrayBuffer())).equals(identity)).toBe(true)

    expect((await get(p, { 'accept-encoding': 'gzip;q=0, identity' })).headers.get('content-encoding')).toBeNull()
  })

  it("the page's assets; HEAD keeps the identity length and sends no body", async () => {
    const name = readdirSync(path.join(DEFAULT_WEB_DIST, 'assets')).find((f) => f.endsWith('.js')) as string
    const file = readFileSync(path.join(DEFAULT_WEB_DIST, 'assets', name))
    const gz = await t.app.request(`/assets/${name}`, { headers: { 'accept-encoding': 'gzip' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).equals(file)).toBe(true)
    const head = await t.app.request(`/assets/${name}`, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-encoding')).toBeNull()
    expect(head.headers.get('content-length')).toBe(String(file.length))
    expect((await head.arrayBuffer()).byteLength).toBe(0)
  })

  it.each(['csv', 'ndjson'])('an export (%s) still streams: its first rows arrive, compressed, before the next page is asked for', async (format) => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let pages = 0
    const slow: AuditStore = Object.assign(Object.create(t.store) as AuditStore, {
      queryEvents: async (q: Parameters<AuditStore['queryEvents']>[0]) => {
        if (q.limit > 0 && ++pages === 2) await released
        return t.store.queryEvents(q)
      },
    })
    const s = await testApp({ store: slow })
    const p = `/api/v1/audit/events/export?format=${format}&source=gz`
    const res = await s.app.request(p, { headers: { authorization: `Bearer ${KEYS.read}`, 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('x-total-count')).toBe('1500')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const chunks: Buffer[] = []
    const { value } = await reader.read()
    chunks.push(Buffer.from(value as Uint8Array))
    // what arrived is the first page: the second has not even been asked for
    expect(pages).toBe(1)
    const partial = gunzipSync(Buffer.concat(chunks), { finishFlush: constants.Z_SYNC_FLUSH }).toString()
    expect(partial.split('\n').length).toBeGreaterThan(10)
    release()
    for (;;) {
      const r = await reader.read()
      if (r.done) break
      chunks.push(Buffer.from(r.value))
    }
    const lines = gunzipSync(Buffer.concat(chunks)).toString().trim().split('\n')
    expect(lines.length).toBe(format === 'csv' ? 1 + 1500 : 1500)
    // HEAD: the headers an export would have, nothing streamed
    const head = await s.app.request(p, { method: 'HEAD', headers: { authorization: `Bearer ${KEYS.read}`, 'accept-encoding': 'gzip' } })
    expect([head.status, head.headers.get('x-total-count'), (await head.arrayBuffer()).byteLength]).toEqual([200, '1500', 0])
    await s.audit.shutdown() // the store is t's: t closes it
  })
})

describe('compressStream: pull-based', () => {
  /** A source of `n` chunks of `size` bytes that counts how many were read. */
  function source(n: number, size = 100_000) {
    const state = { read: 0, cancelled: false }
    const chunks = Array.from({ length: n }, (_, i) => Buffer.from(`${i} ${randomBytes(size / 4).toString('hex')}\n`.repeat(2)))
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (state.read === n) { controller.close(); return; }
          controller.enqueue(chunks[state.read++])
        },
        cancel() {
          state.cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    return { stream, state, whole: Buffer.concat(chunks) }
  }

  it.each([
    ['gzip', gunzipSync],
    ['deflate', inflateSync],
  ] as const)('%s: the same bytes out as in', async (encoding, decode) => {
    const s = source(12)
    const out = Buffer.from(await new Response(compressStream(s.stream, encoding)).arrayBuffer())
    expect(decode(out).equals(s.whole)).toBe(true)
  })

  it('reads the source only as its reader asks: a reader that stops after the first chunk leaves the rest unread; a cancel reaches the source', async () => {
    const s = source(50)
    const reader = compressStream(s.stream, 'gzip').getReader()
    const first = await reader.read()
    expect(first.value?.byteLength).toBeGreaterThan(0)
    // zlib works on the thread pool, which fake timers cannot advance: give a read-ahead real time to show
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(s.state.read).toBeLessThanOrEqual(2)
    await reader.cancel()
    expect(s.state.cancelled).toBe(true)
  })
})
