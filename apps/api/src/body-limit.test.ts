/**
 * After a 413 the server closes the connection (issue 12, item 14): the rest
 * of the refused body is still on the wire, so a kept-alive connection would
 * be left half-read for the next request. Against a real listening server,
 * with a raw socket, so that what the client sees is the bytes themselves.
 */
import net from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KEYS, testApp } from '../test-support/test-app.ts'

let t: Awaited<ReturnType<typeof testApp>>
let server: ServerType
let port: number

beforeAll(async () => {
  t = await testApp({ maxBodyBytes: 2048 })
  server = serve({ fetch: t.app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise((resolve) => server.once('listening', resolve))
  port = (server.address() as net.AddressInfo).port
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await t.close()
})

/** Writes `request` on a new connection and resolves with every byte the server sent once it closes the connection. */
function exchange(request: string | string[]): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let text = ''
    let error: string | undefined
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (text += d))
    socket.on('error', (e) => (error = e.message))
    socket.on('close', () => resolve({ text, ...(error ? { error } : {}) }))
    for (const part of Array.isArray(request) ? request : [request]) socket.write(part)
  })
}

const me = `GET /api/v1/audit/me HTTP/1.1\r\nHost: audit\r\nAuthorization: Bearer ${KEYS.read}\r\nConnection: keep-alive\r\n\r\n`
const post = (headers: string) =>
  `POST /api/v1/audit/events HTTP/1.1\r\nHost: audit\r\nAuthorization: Bearer ${KEYS.ingest}\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n${headers}\r\n`
const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? []

describe('413 closes the connection', () => {
  it.each([
    ['with Content-Length', [post('Content-Length: 10000\r\n'), 'x'.repeat(10_000)]],
    ['chunked', [post('Transfer-Encoding: chunked\r\n'), `2710\r\n${'x'.repeat(10_000)}\r\n0\r\n\r\n`]],
    ['with 1 MB more to come', [post('Content-Length: 1000000\r\n'), 'x'.repeat(100_000)]],
  ])('%s: the answer says Connection: close, the server closes, and a request sent behind the body gets no garbled answer', async (_label, parts) => {
    const { text } = await exchange([...parts, me])
    // one answer, the 413, whole; nothing after it
    expect(statusLines(text)).toEqual(['HTTP/1.1 413'])
    const [head = '', body] = text.split('\r\n\r\n')
    expect(head.toLowerCase()).toMatch(/^connection: close$/m)
    expect(head.toLowerCase()).not.toMatch(/^keep-alive:/m)
    expect(JSON.parse(body ?? '')).toEqual({ detail: 'Request body is larger than 2048 bytes' })
  })

  it('the next request, on a new connection, succeeds', async () => {
    await exchange([post('Content-Length: 10000\r\n'), 'x'.repeat(10_000)])
    const { text } = await exchange(me.replace('keep-alive', 'close'))
    expect(statusLines(text)).toEqual(['HTTP/1.1 200'])
    expect(text).toMatch(/\{"name":"read-key","role":"read"\}$/)
  })

  it('a fetch client is told 413 for a 4 MB body and its next request succeeds', async () => {
    const url = `http://127.0.0.1:${port}/api/v1/audit`
    const big = await fetch(`${url}/events`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.ingest}`, 'content-type': 'application/json' }, body: 'x'.repeat(4_000_000) })
    expect([big.status, big.headers.get('connection'), await big.json()]).toEqual([413, 'close', { detail: 'Request body is larger than 2048 bytes' }])
    const next = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    expect([next.status, await next.json()]).toEqual([200, { name: 'read-key', role: 'read' }])
  })

  it('a body within the limit keeps the connection alive for the next request', async () => {
    const body = JSON.stringify({ source: 'api-service', operation_type: 'keep_alive_probe', result: 'success' })
    const { text } = await exchange([post(`Content-Length: ${body.length}\r\n`), body, me.replace('keep-alive', 'close')])
    expect(statusLines(text)).toEqual(['HTTP/1.1 201', 'HTTP/1.1 200'])
  })
})
