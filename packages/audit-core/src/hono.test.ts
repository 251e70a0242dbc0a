import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditContext, auditHandler, clientAddress, getRequestAuditContext, parseTrustProxy, proxyTrust } from './hono.ts'
import { createAuditLogger, type AuditLogger } from './logger.ts'
import { openPgliteStore } from './stores/pglite-store.ts'
import type { AuditStore } from './stores/store.ts'

let store: AuditStore
let audit: AuditLogger
let app: Hono

beforeAll(async () => {
  store = await openPgliteStore({ dataDir: 'memory://' })
  audit = createAuditLogger({ store, log: { warn() {}, error() {} } })
  app = new Hono()
  app.use('*', auditContext({ trustProxy: 1 }))
  app.use('*', async (c, next) => {
    const ctx = getRequestAuditContext(c)
    if (ctx) ctx.operator = c.req.header('x-user') ?? undefined
    await next()
  })
  app.post(
    '/symbols/:symbol/download',
    auditHandler(audit, (c) => ({ operationType: 'stock_price_download', resourceType: 'symbol', resourceId: c.req.param('symbol') }), async (c, op) => {
      if (c.req.param('symbol') === 'FAIL') throw new HTTPException(502, { message: 'upstream down' })
      if (c.req.param('symbol') === 'NONE') return c.json({ detail: 'unknown symbol' }, 404)
      op.extraInfo.records_count = 100
      return c.json({ downloaded: 100 })
    }),
  )
})
afterAll(() => store.close())

async function lastEvent(resourceId: string) {
  await audit.flush()
  const page = await store.queryEvents({ filters: { resource_id: [resourceId] }, limit: 1 })
  return page.events[0]
}

const post = (symbol: string, forwardedFor = '198.51.100.1, 203.0.113.7') =>
  app.request(
    `/symbols/${symbol}/download`,
    {
      method: 'POST',
      headers: { 'x-request-id': `req-${symbol}`, 'x-user': 'ana@example.com', 'x-forwarded-for': forwardedFor, 'user-agent': 'app/2' },
    },
    // what @hono/node-server hands over: the socket, here a proxy's
    { incoming: { socket: { remoteAddress: '::ffff:10.0.0.2' } } },
  )

it('records a successful handler with the request context, duration and status', async () => {
  const res = await post('AAPL')
  expect(res.status).toBe(200)
  expect(res.headers.get('x-request-id')).toBe('req-AAPL')
  expect(await lastEvent('AAPL')).toMatchObject({
    operation_type: 'stock_price_download',
    result: 'success',
    operator: 'ana@example.com',
    request_id: 'req-AAPL',
    ip_address: '203.0.113.7',
    user_agent: 'app/2',
    resource_type: 'symbol',
    extra_info: { records_count: 100, status: 200, duration_ms: expect.any(Number) },
  })
})

it('records a 4xx response as a warning and a thrown error as a failure, rethrowing it', async () => {
  expect((await post('NONE')).status).toBe(404)
  expect(await lastEvent('NONE')).toMatchObject({ result: 'warning', extra_info: { status: 404 } })
  expect((await post('FAIL')).status).toBe(502)
  expect(await lastEvent('FAIL')).toMatchObject({ result: 'failure', message: 'upstream down', extra_info: { error: { name: 'Error', message: 'upstream down' } } })
})

it('records a request whose forwarded address is not an address, with no ip and the raw header kept', async () => {
  expect((await post('ODD', 'not-an-ip')).status).toBe(200)
  expect(await lastEvent('ODD')).toMatchObject({ result: 'success', ip_address: null, extra_info: { forwarded_for: 'not-an-ip', status: 200 } })
})

describe('the client address behind proxies', () => {
  const peer = '10.0.0.2'
  it.each([
    // setting, X-Forwarded-For, expected client (the right-most hop that is not a trusted proxy)
    [false, '198.51.100.7', { ip: peer }],
    [false, 'not-an-ip', { ip: peer }],
    [1, undefined, { ip: peer }],
    [1, '198.51.100.7', { ip: '198.51.100.7' }],
    [1, '10.0.0.1, 198.51.100.7', { ip: '198.51.100.7' }],
    [true, '10.0.0.1, 198.51.100.7', { ip: '198.51.100.7' }],
    [2, '203.0.113.9, 198.51.100.7, 10.0.0.1', { ip: '198.51.100.7' }],
    [5, '198.51.100.7', { ip: '198.51.100.7' }],
    [1, 'not-an-ip', { forwardedFor: 'not-an-ip' }],
    [1, '198.51.100.7, not-an-ip', { forwardedFor: '198.51.100.7, not-an-ip' }],
    [1, 'not-an-ip, 198.51.100.7', { ip: '198.51.100.7' }],
    [1, '', { forwardedFor: '' }],
    [1, '::ffff:198.51.100.7', { ip: '198.51.100.7' }],
    [1, '2001:db8::7', { ip: '2001:db8::7' }],
    [1, 'fe80::1%eth0', { forwardedFor: 'fe80::1%eth0' }],
    [['10.0.0.0/8'], '203.0.113.9, 10.1.2.3', { ip: '203.0.113.9' }],
    [['10.0.0.0/8'], '198.51.100.1, 203.0.113.9, 10.1.2.3', { ip: '203.0.113.9' }],
    [['10.0.0.0/8'], '10.9.9.9, 10.1.2.3', { ip: '10.9.9.9' }],
    [['192.168.1.7'], '203.0.113.9', { ip: peer }],
    [['10.0.0.2', '2001:db8::/32'], '203.0.113.9, 2001:db8::1', { ip: '203.0.113.9' }],
  ] as const)('trust %j, X-Forwarded-For %j → %j', (setting, header, expected) => {
    expect(clientAddress(peer, header, proxyTrust(setting as never))).toEqual(expected)
  })

  it('keeps at most 1 KiB of a raw header', () => {
    expect(clientAddress(peer, 'x'.repeat(5000), proxyTrust(1)).forwardedFor).toHaveLength(1024)
  })

  it('reads AUDIT_TRUST_PROXY', () => {
    expect(['', 'false', '0', 'no'].map(parseTrustProxy)).toEqual([false, false, false, false])
    expect(['true', '1', '3'].map(parseTrustProxy)).toEqual([1, 1, 3])
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.7,::1,2001:db8::/32')).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', '2001:db8::/32'])
    expect(() => parseTrustProxy('10.0.0.0/33,proxy.local')).toThrow(/"10.0.0.0\/33", "proxy.local" is not an address or CIDR range/)
    expect(() => parseTrustProxy('1000')).toThrow(/hops/)
  })
})
