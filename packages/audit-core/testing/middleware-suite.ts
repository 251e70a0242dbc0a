/**
 * The behaviour every HTTP adapter's request-context middleware must show,
 * run against a real server of that framework (see express.test.ts,
 * fastify.test.ts): the adapter's test builds the app described by
 * {@link StartApp}; these tests send it requests with fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditContext } from '../src/context.ts'
import { createAuditLogger, type AuditLogger } from '../src/logger.ts'
import type { TrustProxy } from '../src/request-context.ts'
import { openPgliteStore } from '../src/stores/pglite-store.ts'
import type { AuditStore } from '../src/stores/store.ts'

export interface MiddlewareApp {
  /** e.g. http://127.0.0.1:40123 */
  url: string
  close(): Promise<void>
}

/**
 * Starts, on 127.0.0.1 port 0, an app with:
 * - the adapter's `auditContext({ trustProxy, enrich })`, `enrich` setting `tenantId` from `X-Tenant`;
 * - after it, a middleware or hook (as auth would be) setting the context's `operator` from `X-User`
 *   through `getRequestAuditContext`;
 * - `GET /context?delay=ms`: waits `delay` ms, then answers `{ als: getAuditContext(), req: getRequestAuditContext(req) }`;
 * - `POST /symbols/:symbol` with a JSON body `{ records, delay }`: inside
 *   `audit.auditOperation({ operationType: 'stock_price_download', resourceType: 'symbol', resourceId: symbol })`
 *   waits `delay` ms, throws `new Error('upstream down')` when the symbol is `FAIL`, else sets
 *   `op.extraInfo.records_count = records` and answers `{ downloaded: records }` (a thrown error: a 500).
 */
export type StartApp = (audit: AuditLogger, options: { trustProxy?: TrustProxy }) => Promise<MiddlewareApp>

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export function runMiddlewareSuite(start: StartApp): void {
  let store: AuditStore
  let audit: AuditLogger
  const apps = new Map<string, Promise<MiddlewareApp>>()

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' })
    audit = createAuditLogger({ store, log: { warn() {}, error() {} } })
  })
  afterAll(async () => {
    for (const app of apps.values()) await (await app).close()
    await store?.close()
  })

  /** The app for this trustProxy setting, started once. */
  const url = async (trustProxy: TrustProxy = 1) => {
    const key = JSON.stringify(trustProxy)
    if (!apps.has(key)) apps.set(key, start(audit, { trustProxy }))
    return (await apps.get(key)!).url
  }

  const getContext = async (headers: Record<string, string>, o: { trustProxy?: TrustProxy; delay?: number } = {}) => {
    const res = await fetch(`${await url(o.trustProxy)}/context?delay=${o.delay ?? 0}`, { headers })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { als?: AuditContext; req?: AuditContext }
    // what the handler reads from AsyncLocalStorage is what the middleware set on the request
    expect(body.als).toEqual(body.req)
    return { header: res.headers.get('x-request-id'), ctx: body.als }
  }

  const post = (symbol: string, headers: Record<string, string>, body: { records: number; delay?: number }) =>
    url().then((u) => fetch(`${u}/symbols/${symbol}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }))

  const eventOf = async (resourceId: string) => {
    await audit.flush()
    const page = await store.queryEvents({ filters: { resource_id: [resourceId] }, limit: 2 })
    expect(page.events).toHaveLength(1)
    return page.events[0]
  }

  it('echoes a well-formed X-Request-Id, and the handler sees the context after an await', async () => {
    const { header, ctx } = await getContext(
      { 'x-request-id': 'req-1', 'user-agent': 'app/2', 'x-user': 'ana@example.com', 'x-tenant': 't-1', 'x-forwarded-for': '198.51.100.1, 203.0.113.7' },
      { delay: 5 },
    )
    expect(header).toBe('req-1')
    expect(ctx).toEqual({ requestId: 'req-1', ipAddress: '203.0.113.7', userAgent: 'app/2', operator: 'ana@example.com', tenantId: 't-1' })
  })

  it.each([undefined, 'has space', 'x'.repeat(201)])('answers X-Request-Id %j with a new UUIDv7, and uses it', async (given) => {
    const { header, ctx } = await getContext(given === undefined ? {} : { 'x-request-id': given })
    expect(header).toMatch(UUID7)
    expect(ctx?.requestId).toBe(header)
  })

  describe('the client address (the test client connects from 127.0.0.1)', () => {
    it.each([
      [false, '203.0.113.7', { ipAddress: '127.0.0.1' }],
      [1, undefined, { ipAddress: '127.0.0.1' }],
      [1, '198.51.100.1, 203.0.113.7', { ipAddress: '203.0.113.7' }],
      [2, '198.51.100.1, 203.0.113.7', { ipAddress: '198.51.100.1' }],
      [['127.0.0.1'], '198.51.100.1, 203.0.113.7', { ipAddress: '203.0.113.7' }],
      [['127.0.0.0/8', '203.0.113.0/24'], '198.51.100.1, 203.0.113.7', { ipAddress: '198.51.100.1' }],
      [['10.0.0.0/8'], '203.0.113.7', { ipAddress: '127.0.0.1' }],
      [1, 'not-an-ip', { forwardedFor: 'not-an-ip' }],
    ] as const)('trust %j, X-Forwarded-For %j → %j', async (trustProxy, forwardedFor, expected) => {
      const { ctx } = await getContext(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, { trustProxy: trustProxy as TrustProxy })
      const { requestId: _, userAgent: __, ...address } = ctx!
      expect(address).toEqual(expected)
    })
  })

  it('keeps concurrent requests apart, each in its own context to the end', async () => {
    // the first sent answers last: every handler resumes while others are in flight
    const n = 20
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        getContext({ 'x-request-id': `req-c${i}`, 'user-agent': `ua-${i}`, 'x-user': `user-${i}`, 'x-forwarded-for': `203.0.113.${i}` }, { delay: (n - i) * 3 }),
      ),
    )
    results.forEach(({ header, ctx }, i) => {
      expect(header).toBe(`req-c${i}`)
      expect(ctx).toEqual({ requestId: `req-c${i}`, userAgent: `ua-${i}`, operator: `user-${i}`, ipAddress: `203.0.113.${i}` })
    })
  })

  it('an auditOperation in a handler records the request context into the store', async () => {
    const res = await post('AAPL', { 'x-request-id': 'req-AAPL', 'x-user': 'ana@example.com', 'x-tenant': 'acme', 'user-agent': 'app/2', 'x-forwarded-for': '203.0.113.7' }, { records: 100, delay: 5 })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ downloaded: 100 })
    expect(await eventOf('AAPL')).toMatchObject({
      operation_type: 'stock_price_download',
      result: 'success',
      operator: 'ana@example.com',
      tenant_id: 'acme',
      request_id: 'req-AAPL',
      ip_address: '203.0.113.7',
      user_agent: 'app/2',
      resource_type: 'symbol',
      extra_info: { records_count: 100, duration_ms: expect.any(Number) },
    })
  })

  it('records a failed operation with its context', async () => {
    const res = await post('FAIL', { 'x-request-id': 'req-FAIL', 'x-user': 'bo@example.com' }, { records: 0 })
    expect(res.status).toBe(500)
    expect(await eventOf('FAIL')).toMatchObject({ result: 'failure', message: 'upstream down', request_id: 'req-FAIL', operator: 'bo@example.com', ip_address: '127.0.0.1' })
  })

  it('concurrent operations each record their own request', async () => {
    const n = 10
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) => post(`SYM${i}`, { 'x-request-id': `req-SYM${i}`, 'x-user': `user-${i}`, 'user-agent': `ua-${i}` }, { records: i, delay: (n - i) * 3 })),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(n).fill(200))
    for (let i = 0; i < n; i++) {
      expect(await eventOf(`SYM${i}`)).toMatchObject({ request_id: `req-SYM${i}`, operator: `user-${i}`, user_agent: `ua-${i}`, extra_info: { records_count: i } })
    }
  })
}
