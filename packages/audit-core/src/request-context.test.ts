import { describe, expect, it } from 'vitest'
import { clientAddress, getRequestAuditContext, parseTrustProxy, proxyTrust, requestContext } from './request-context.ts'

describe('the request id', () => {
  const begin = requestContext({}, (r: { id?: string }) => ({ requestId: r.id }))
  it.each(['req-1', 'a.b:c/d+e=f_g', 'x'.repeat(200), '0190f4c2-7a1b-7c3d-8e4f-a1b2c3d4e5f6'])('keeps the well-formed %j', (id) => {
    expect(begin({ id }).requestId).toBe(id)
  })
  it.each([undefined, '', 'x'.repeat(201), 'a b', 'a,b', '<script>', 'é'])('replaces %j with a new UUIDv7', (id) => {
    expect(begin({ id }).requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})

it('keeps 1 KiB of the user agent, lets enrich add to the context, and remembers it for the request', () => {
  const begin = requestContext({ trustProxy: 1, enrich: (r: { user: string }, ctx) => (ctx.operator = r.user) }, () => ({
    peer: '::ffff:10.0.0.2',
    forwardedFor: '203.0.113.7',
    userAgent: 'u'.repeat(2000),
  }))
  const req = { user: 'ana@example.com' }
  const ctx = begin(req)
  expect(ctx).toMatchObject({ ipAddress: '203.0.113.7', operator: 'ana@example.com' })
  expect(ctx.userAgent).toHaveLength(1024)
  expect(getRequestAuditContext(req)).toBe(ctx)
  expect(getRequestAuditContext({})).toBeUndefined()
})

it('refuses a trustProxy it cannot use when the middleware is made, not per request', () => {
  expect(() => requestContext({ trustProxy: ['10.0.0.0/8', 'proxy.local'] }, () => ({}))).toThrow('trustProxy: "proxy.local" is not an address or CIDR range')
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
