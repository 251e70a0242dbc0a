/**
 * What the server's log says, read from the pino destination: one access
 * line per request with the id the client sees and the events store, the
 * request's other lines under the same id, no secret and no event value in
 * any line.
 */
import type net from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { ConfigError, createAuditLogger, type AuditStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import type pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadServerConfig } from './config.ts'
import { createServerLogger } from './logging.ts'
import { KEYS, testApp } from '../test-support/test-app.ts'

type Line = Record<string, unknown> & { level: number; msg: string }

/** A logger whose lines are kept: parsed, and as written. */
async function captured(): Promise<{ log: pino.Logger; lines: () => Line[]; text: () => string }> {
  const raw: string[] = []
  const log = await createServerLogger({ destination: { write: (s: string) => void raw.push(s) } })
  return { log, lines: () => raw.map((s) => JSON.parse(s) as Line), text: () => raw.join('') }
}

describe('the access log: one line per request', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  let out: Awaited<ReturnType<typeof captured>>
  let server: ServerType
  let base: string
  beforeAll(async () => {
    out = await captured()
    t = await testApp({ log: out.log })
    server = serve({ fetch: t.app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await t.close()
  })
  const accessLines = () => out.lines().filter((l) => l.msg === 'request')

  it('says who asked for what and how it went: reqId (as echoed), method, route, path, status, duration, key name, client; never the key', async () => {
    const res = await fetch(`${base}/api/v1/audit/events?limit=1&operator=ana%40example.com`, { headers: { authorization: `Bearer ${KEYS.read}`, 'x-request-id': 'req-access-1' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('req-access-1')
    const lines = accessLines().filter((l) => l.reqId === 'req-access-1')
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        pid: process.pid,
        hostname: expect.any(String),
        reqId: 'req-access-1',
        method: 'GET',
        route: '/api/v1/audit/events',
        path: '/api/v1/audit/events',
        status: 200,
        responseTime: expect.any(Number),
        keyName: 'read-key',
        client: '127.0.0.1',
        msg: 'request',
      },
    ])
    // each field once (JSON.parse would hide a repeated key)
    const raw = out.text().split('\n').find((l) => l.includes('"req-access-1"')) as string
    const keys = [...raw.matchAll(/"(\w+)":/g)].map((m) => m[1])
    expect(keys).toEqual([...new Set(keys)])
    // neither the key nor the query (which may name people) is logged
    expect(out.text()).not.toContain(KEYS.read)
    expect(out.text()).not.toContain('ana')
  })

  it('a route with a parameter is logged by its pattern; a refused request has no key name, and its event stores the same id', async () => {
    const res = await fetch(`${base}/api/v1/audit/events/0190b1a0-0000-7000-8000-000000000000`, { headers: { authorization: 'Bearer not-a-key-0123456789' } })
    expect(res.status).toBe(401)
    const reqId = res.headers.get('x-request-id')
    const line = accessLines().find((l) => l.reqId === reqId)
    expect(line).toMatchObject({ level: 30, method: 'GET', route: '/api/v1/audit/events/:id', status: 401 })
    expect(line).not.toHaveProperty('keyName')
    await t.audit.flush()
    const page = await t.store.queryEvents({ filters: { operation_type: ['auth_failed'] }, limit: 100 })
    expect(page.events.map((e) => e.request_id)).toContain(reqId)
    expect(out.text()).not.toContain('not-a-key-0123456789')
  })

  it('every request is logged once: 120 requests, 120 lines, 120 distinct ids', async () => {
    const before = accessLines().length
    for (let i = 0; i < 120; i++) await (await fetch(`${base}/health`)).arrayBuffer()
    const lines = accessLines().slice(before)
    expect(lines.length).toBe(120)
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(120)
  })
})

describe('a line logged while handling a request carries its reqId', () => {
  it('an unhandled error: the error line and the access line (level error, 500) share the id', async () => {
    const out = await captured()
    const base = await openPgliteStore({ dataDir: 'memory://' })
    const broken: AuditStore = Object.assign(Object.create(base) as AuditStore, {
      queryEvents: async () => {
        throw new TypeError('boom')
      },
    })
    const t = await testApp({ store: broken, log: out.log })
    const res = await t.call('/api/v1/audit/events', { headers: { 'x-request-id': 'req-err-1' } })
    expect(res.status).toBe(500)
    expect(res.json).toEqual({ detail: 'Internal Server Error' })
    const lines = out.lines().filter((l) => l.reqId === 'req-err-1')
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'unhandled error'],
      [50, 'request'],
    ])
    expect(lines[0]).toMatchObject({ err: { type: 'TypeError', message: 'boom' } })
    await t.close()
  })
})

describe('redaction', () => {
  it('a rejected event is named (id, source, operation_type, reason), never its operator, message or extra_info', async () => {
    const out = await captured()
    const store = await openPgliteStore({ dataDir: 'memory://' })
    const audit = createAuditLogger({ store, log: out.log.child({ component: 'audit-queue' }), source: 'system' })
    // a lone surrogate passes validation, and the database refuses it
    const id = await audit.logEvent({ operationType: 'password_reset', result: 'success', operator: 'ana@example.com', message: 'reset the password of bob', extraInfo: { token: 'tok-secret-1', bad: '\ud800' } })
    await audit.shutdown()
    await store.close()
    expect(out.lines().filter((l) => l.level >= 50)).toEqual([
      expect.objectContaining({ level: 50, component: 'audit-queue', msg: 'audit event rejected', reason: expect.stringMatching(/json|unicode/i), event: { id, source: 'system', operation_type: 'password_reset' } }),
    ])
    for (const value of ['ana@example.com', 'reset the password', 'tok-secret-1']) expect(out.text()).not.toContain(value)
  })

  it('secrets and event values are replaced wherever a line carries them', async () => {
    const out = await captured()
    out.log.error(
      {
        event: { id: 'e-1', operator: 'ana@example.com', message: 'hello bob', extra_info: { token: 't' } },
        config: { databaseUrl: 'postgres://app:hunter2@db/audit', apiKeys: ['k'], cronSecret: 'cron-secret' },
        req: { headers: { authorization: 'Bearer admin-secret', cookie: 'sid=1' } },
        DATABASE_URL: 'postgres://app:hunter2@db/audit',
        token: 'tok',
      },
      'something failed',
    )
    expect(out.lines()[0]).toMatchObject({
      event: { id: 'e-1', operator: '[Redacted]', message: '[Redacted]', extra_info: '[Redacted]' },
      config: { databaseUrl: '[Redacted]', apiKeys: '[Redacted]', cronSecret: '[Redacted]' },
      req: { headers: { authorization: '[Redacted]', cookie: '[Redacted]' } },
      DATABASE_URL: '[Redacted]',
      token: '[Redacted]',
    })
    for (const value of ['hunter2', 'admin-secret', 'cron-secret', 'ana@']) expect(out.text()).not.toContain(value)
  })

  it.each([
    ['sk_live_bare-secret-0123456789', 'entry 1 of 1 has no role: write role:key or role:name:key (roles ingest, read, admin)'],
    ['admin:ops:0123456789abcdef, sk_live_bare-secret-0123456789:admin', 'entry 2 of 2 does not start with a role (ingest, read, admin): write role:key or role:name:key'],
    ['read:ci:short-secret', 'entry 1 of 1 (role read, name "ci"): the key is shorter than 16 characters'],
  ])('a malformed AUDIT_API_KEYS (%s) says where and what, never the secret', (spec, problem) => {
    let error: unknown
    try {
      loadServerConfig({ AUDIT_API_KEYS: spec })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(`AUDIT_API_KEYS: ${problem}`)
    expect((error as Error).message).not.toMatch(/sk_live|short-secret/)
  })
})
