/**
 * Signed download links for exports: the rules a token must pass, through the app.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { seedEvents } from '@audit/core/testing'
import { KEYS, testApp } from '../apps/api/test-support/test-app.ts'

const E = '/api/v1/audit/events/export'
let t: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  t = await testApp()
  await t.store.insertEvents(seedEvents(300, { now: Date.now(), days: 2, seed: 9 }))
})
afterAll(() => t.close())
afterEach(() => vi.useRealTimers())

const link = async (query: string, key: keyof typeof KEYS | null = 'read') => {
  const r = await t.call(`${E}/link?${query}`, { method: 'POST', key })
  return r
}
const follow = (url: string, method = 'GET') => t.call(url, { key: null, method })

describe('POST /export/link', () => {
  it('needs a key that may read, and never puts the key in the URL', async () => {
    expect((await link('format=csv', null)).status).toBe(401)
    expect((await link('format=csv', 'ingest')).status).toBe(403)
    const r = await link('format=csv&result=failure')
    expect(r.status).toBe(200)
    expect(r.json.url).toMatch(/^\/api\/v1\/audit\/events\/export\/download\?/)
    expect(r.json.url).not.toContain(KEYS.read)
    expect(Date.parse(r.json.expires_at) - Date.now()).toBeGreaterThan(55_000)
    expect(Date.parse(r.json.expires_at) - Date.now()).toBeLessThanOrEqual(60_000)
  })

  it('validates the parameters as the export does', async () => {
    const r = await link('format=xml')
    expect(r.status).toBe(422)
    expect((await link('colour=red')).status).toBe(422)
  })
})

describe('GET /export/download', () => {
  it('streams the same bytes as the export, as an attachment, once', async () => {
    const q = 'format=csv&result=failure&bom=true'
    const direct = await t.call(`${E}?${q}`, { key: 'read' })
    const { json } = await link(q)
    const head = await follow(json.url, 'HEAD')
    expect(head.status).toBe(200)
    const res = await follow(json.url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(direct.headers.get('content-disposition'))
    expect(res.headers.get('x-total-count')).toBe(direct.headers.get('x-total-count'))
    expect(res.text).toBe(direct.text)
    expect(Number(res.headers.get('x-total-count'))).toBeGreaterThan(0)
    const again = await follow(json.url)
    expect(again.status).toBe(401)
    expect(again.json.detail).toMatch(/already used/)
  })

  it('refuses an expired link with 401 saying so', async () => {
    const { json } = await link('format=ndjson')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    const r = await follow(json.url)
    expect(r.status).toBe(401)
    expect(r.json.detail).toMatch(/^This download link expired at .*Z: export again/)
  })

  it('refuses altered filters, format or bom with 403', async () => {
    const { json } = await link('format=csv&result=failure')
    for (const [from, to] of [
      ['result=failure', 'result=success'],
      ['format=csv', 'format=ndjson'],
      ['format=csv', 'format=csv&bom=true'],
      ['result=failure', 'result=failure&source=frontend'],
    ] as const) {
      const r = await follow(json.url.replace(from, to))
      expect(r.status, to).toBe(403)
      expect(r.json.detail).toMatch(/made for other export parameters/)
    }
    // a refused attempt does not spend the link
    expect((await follow(json.url)).status).toBe(200)
  })

  it('refuses a missing or forged token with 401', async () => {
    const { json } = await link('format=csv')
    const url = new URL(json.url, 'http://x')
    const token = url.searchParams.get('token')!
    const [body, sig] = token.split('.') as [string, string]
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { e: number; k: string }
    const cases = {
      none: '',
      badSig: `${body}.${sig.slice(0, -2)}AA`,
      longerLife: `${Buffer.from(JSON.stringify({ ...claims, e: claims.e + 3_600_000 })).toString('base64url')}.${sig}`,
      otherKey: `${Buffer.from(JSON.stringify({ ...claims, k: 'admin-key' })).toString('base64url')}.${sig}`,
      garbage: 'not-a-token',
    }
    for (const [name, tok] of Object.entries(cases)) {
      url.searchParams.set('token', tok)
      const r = await follow(`${url.pathname}${url.search}`)
      expect(r.status, name).toBe(401)
      expect(r.json.detail, name).toMatch(name === 'none' ? /no token/ : /signature does not match/)
    }
  })

  it('does not take an API key instead of a token', async () => {
    const r = await t.call(`${E}/download?format=csv`, { key: 'admin' })
    expect(r.status).toBe(401)
  })
})
