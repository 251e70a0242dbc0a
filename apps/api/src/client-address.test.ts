/**
 * The client address behind trusted proxies (issue 12, item 13), through a
 * real listening server so that the socket's peer is real: the right-most
 * untrusted X-Forwarded-For hop is recorded, never the forged left-most one,
 * and a header that is not an address never costs the request its own event.
 */
import net from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { ConfigError } from '@audit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadServerConfig } from './config.ts'
import { testApp } from '../test-support/test-app.ts'

describe.each([
  ['one trusted hop (AUDIT_TRUST_PROXY=1)', 1],
  ['the proxy by address (AUDIT_TRUST_PROXY=127.0.0.0/8,10.0.0.0/8)', ['127.0.0.0/8', '10.0.0.0/8']],
] as const)('behind %s', (_label, trustProxy) => {
  let t: Awaited<ReturnType<typeof testApp>>
  let server: ServerType
  let base: string
  beforeAll(async () => {
    t = await testApp({ trustProxy })
    server = serve({ fetch: t.app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await t.close()
  })

  /** A request without a key (so the server records auth_failed), and the event it recorded. */
  async function refused(path: string, forwardedFor: string) {
    const r = await fetch(`${base}${path}`, { headers: { 'x-forwarded-for': forwardedFor } })
    expect(r.status).toBe(401)
    await t.audit.flush()
    const page = await t.store.queryEvents({ filters: { operation_type: ['auth_failed'] }, limit: 100 })
    return page.events.find((e) => (e.extra_info as { path?: string }).path === path)
  }

  it('X-Forwarded-For: not-an-ip still records the request’s own auth_failed event, with no address and the raw header', async () => {
    const e = await refused('/api/v1/audit/events/not-an-ip', 'not-an-ip')
    expect(e).toMatchObject({ operation_type: 'auth_failed', ip_address: null, extra_info: { reason: 'missing_key', forwarded_for: 'not-an-ip' } })
    expect(t.audit.stats().rejected).toBe(0)
  })

  it('10.0.0.1, 198.51.100.7 records 198.51.100.7, never the forged left-most hop', async () => {
    const e = await refused('/api/v1/audit/events/forged', '10.0.0.1, 198.51.100.7')
    expect(e).toMatchObject({ ip_address: '198.51.100.7' })
    expect(e?.extra_info).not.toHaveProperty('forwarded_for')
  })

  it('without the header the socket’s peer is the client', async () => {
    const r = await fetch(`${base}/api/v1/audit/events/direct`)
    expect(r.status).toBe(401)
    await t.audit.flush()
    const page = await t.store.queryEvents({ filters: { operation_type: ['auth_failed'] }, limit: 100 })
    expect(page.events.find((e) => (e.extra_info as { path?: string }).path === '/api/v1/audit/events/direct')).toMatchObject({ ip_address: '127.0.0.1' })
  })
})

describe('AUDIT_TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['true', 1],
    ['2', 2],
    ['10.0.0.0/8, 192.168.1.7', ['10.0.0.0/8', '192.168.1.7']],
  ] as const)('%s → %j', (value, trustProxy) => {
    expect(loadServerConfig(value === undefined ? {} : { AUDIT_TRUST_PROXY: value }).trustProxy).toEqual(trustProxy)
  })

  it('refuses a value it cannot read, naming it', () => {
    expect(() => loadServerConfig({ AUDIT_TRUST_PROXY: '10.0.0.0/40' })).toThrow(ConfigError)
    expect(() => loadServerConfig({ AUDIT_TRUST_PROXY: 'loadbalancer' })).toThrow(/"loadbalancer" is not an address or CIDR range/)
  })
})
