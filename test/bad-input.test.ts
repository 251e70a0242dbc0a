/**
 * Bad input on every endpoint gets a clear 4xx with a FastAPI `detail` list,
 * never a 500 and never a silent loss (issue 12, items 10-12): unknown query
 * parameters, values the database would refuse (NUL, lone surrogates, years
 * outside 0001-9999, impossible dates, deep nesting), malformed numbers,
 * arrays where one value is expected. On PGlite and, with TEST_DATABASE_URL,
 * on a Postgres server (where NUL in a filter used to answer 500).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeEngines } from '@audit/core/testing'
import { testApp } from '../apps/api/test-support/test-app.ts'
import { DEFAULT_VIEW, apiFilters, type ViewState } from '../apps/web/src/features/events/filters.ts'
import { toQuery } from '../apps/web/src/lib/api-client.ts'

const E = '/api/v1/audit/events'
const UUID = '0190a0b0-0000-7000-8000-000000000001'
const RANGE = { start_date: '2026-11-01T00:00:00.000Z', end_date: '2026-11-30T00:00:00.000Z' }

/** A query value of one parameter, or its raw query-string fragment (repeats, encodings). */
type Hostile = [label: string, fragment: string]
const hostile: Hostile[] = [
  ['NUL in a text filter', 'operator=a%00b'],
  ['NUL in q', 'q=a%00b'],
  ['NUL alone', 'source=%00'],
  ['NUL in an extra filter', 'extra.k=a%00b'],
  ['an extra filter given twice', 'extra.k=a&extra.k=b'],
  ['an extra key that is not a name', 'extra.bad%20key=1'],
  ['year 0', 'start_date=0000-01-01'],
  ['year 0 through an offset', 'start_date=0000-01-01T00%3A30%3A00%2B01%3A00'],
  ['year 10000 through an offset', 'end_date=9999-12-31T23%3A59%3A59-23%3A59'],
  ['an impossible calendar date', 'start_date=2024-02-30'],
  ['a date given twice', 'start_date=2026-11-01&start_date=2026-11-02'],
  ['q given twice', 'q=a&q=b'],
  ['a filter over its column length', `operator=${'x'.repeat(256)}`],
  ['a value outside a CHECK', 'severity=loud'],
  ['an unknown parameter', 'level=INFO'],
  ['an array-style parameter', 'source[]=system'],
  ['limit that is not a number', 'limit=abc'],
  ['a huge limit', 'limit=1e400'],
  ['a huge offset', 'offset=99999999999999999999'],
  ['limit given twice', 'limit=1&limit=2'],
  ['a cursor that is not a uuid', 'after=not-a-uuid'],
  ['an unknown format', 'format=xml'],
  ['a group_by that is not extra.<key>', 'group_by=extra.%00'],
]

/** The four query endpoints; DELETE carries what it needs so that only the hostile value is wrong. */
const endpoints: [string, string, Record<string, string>][] = [
  ['GET', E, {}],
  ['GET', `${E}/export`, {}],
  ['GET', '/api/v1/audit/stats', {}],
  ['DELETE', E, { ...RANGE, confirm: 'true' }],
]

function url(path: string, base: Record<string, string>, fragment: string): string {
  const named = new Set(fragment.split('&').map((kv) => decodeURIComponent(kv.split('=')[0] as string)))
  const kept = Object.entries(base).filter(([k]) => !named.has(k))
  return `${path}?${[...kept.map(([k, v]) => `${k}=${encodeURIComponent(v)}`), fragment].join('&')}`
}

const ok = { source: 'api-service', operation_type: 'hostile_probe', result: 'success' }
const withRaw = (field: string, json: string) => `${JSON.stringify(ok).slice(0, -1)},"${field}":${json}}`
const deep = (n: number) => `${'{"a":'.repeat(n)}{}${'}'.repeat(n)}`

/** Request bodies the database would refuse or change, as JSON text (lone surrogates cannot survive JSON.stringify of a test literal unescaped). */
const hostileBodies: [string, string][] = [
  ['a lone surrogate in an extra_info value (item 11)', withRaw('extra_info', '{"a":"\\ud800"}')],
  ['a lone surrogate in an extra_info key', withRaw('extra_info', '{"\\udc00":1}')],
  ['a lone surrogate deep in extra_info', withRaw('extra_info', '{"a":[{"b":["x\\ud83d"]}]}')],
  ['a lone surrogate in message', withRaw('message', '"a\\ud800b"')],
  ['a lone surrogate in operator', withRaw('operator', '"\\udfff"')],
  ['year 0 through an offset (item 11)', withRaw('timestamp', '"0000-01-01T00:30:00+01:00"')],
  ['year 10000 through an offset (item 11)', withRaw('timestamp', '"9999-12-31T23:59:59-23:59"')],
  ['an impossible calendar date', withRaw('timestamp', '"2024-02-30T00:00:00Z"')],
  ['extra_info 33 levels deep', withRaw('extra_info', deep(32))],
  ['extra_info 5,000 levels deep (item 12)', withRaw('extra_info', deep(5000))],
  ['extra_info 100,000 levels deep', withRaw('extra_info', deep(100_000))],
  ['an ip_address that is a list', withRaw('ip_address', '"10.0.0.1, 198.51.100.7"')],
  ['a batch with one bad event among good ones', `{"events":[${JSON.stringify(ok)},${withRaw('extra_info', '{"a":"\\ud800"}')},${JSON.stringify(ok)}]}`],
  ['events that is not a list', '{"events":"x"}'],
  ['a bare list', `[${JSON.stringify(ok)}]`],
  ['null', 'null'],
  ['an unknown field', withRaw('level', '"INFO"')],
]

const engines = storeEngines()

for (const [engine, open] of engines) {
  describe(`bad input on ${engine}`, () => {
    let t: Awaited<ReturnType<typeof testApp>>
    let done: () => Promise<void>
    const count = async () => (await t.call(`${E}?limit=1`)).json.total as number

    beforeAll(async () => {
      const o = await open()
      done = o.done
      t = await testApp({ store: o.store })
      // one event of each severity inside the range a DELETE names
      for (const severity of ['debug', 'info', 'warning', 'error', 'critical']) {
        const r = await t.call(E, { body: { ...ok, operation_type: 'seeded', severity, timestamp: '2026-11-15T12:00:00Z' } })
        expect(r.status).toBe(201)
      }
      await t.audit.flush()
    })
    afterAll(async () => {
      await t.close()
      await done()
    })

    it('item 10: DELETE with an unknown parameter (level=INFO) deletes nothing and names it', async () => {
      const before = await count()
      const r = await t.call(url(E, { ...RANGE, confirm: 'true' }, 'level=INFO'), { method: 'DELETE' })
      expect(r.status).toBe(422)
      expect(r.json).toEqual({ detail: [{ loc: ['query', 'level'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] })
      expect(await count()).toBe(before)
      expect(before).toBeGreaterThanOrEqual(5)
    })

    it('every API endpoint of the OpenAPI document refuses an unknown query parameter with 422 naming it', async () => {
      const doc = (await t.call('/openapi.json')).json as { paths: Record<string, Record<string, unknown>> }
      const seen: string[] = []
      // /health and /metrics ignore parameters: a probe's cache-buster must not make the server look down
      for (const [path, ops] of Object.entries(doc.paths).filter(([path]) => path.startsWith('/api/'))) {
        for (const method of Object.keys(ops)) {
          const p = path.replace('{id}', UUID)
          const base = method === 'delete' ? { ...RANGE, confirm: 'true' } : {}
          const r = await t.call(url(p, base, 'bogus=1'), { method: method.toUpperCase(), ...(method === 'post' && p === E ? { body: ok } : {}) })
          expect([method, path, r.status, r.json]).toEqual([method, path, 422, { detail: [{ loc: ['query', 'bogus'], msg: expect.any(String), type: 'extra_forbidden' }] }])
          seen.push(`${method} ${path}`)
        }
      }
      expect(seen.length).toBeGreaterThanOrEqual(8)
      await t.audit.flush()
      expect(await count()).toBe(5) // neither the POST nor the DELETE did anything
    })

    it('an unknown parameter still answers 401 without a key (auth comes first)', async () => {
      expect((await t.call(`${E}?bogus=1`, { key: null })).status).toBe(401)
    })

    describe.each(endpoints)('%s %s', (method, path, base) => {
      it.each(hostile)('4xx with a detail naming the parameter, never 5xx: %s', async (_label, fragment) => {
        const r = await t.call(url(path, base, fragment), { method })
        expect(r.status, r.text).toBe(422)
        const names = fragment.split('&').map((kv) => decodeURIComponent(kv.split('=')[0] as string))
        expect(r.json.detail, r.text).toEqual(expect.arrayContaining([expect.objectContaining({ loc: expect.arrayContaining(['query', names[0]]), msg: expect.any(String), type: expect.any(String) })]))
      })
    })

    it.each([
      ['a malformed id', `${E}/not-a-uuid`],
      ['NUL as the id', `${E}/%00`],
      ['a very long id', `${E}/${'7'.repeat(5000)}`],
      ['a query parameter', `${E}/${UUID}?id=${UUID}`],
    ])('GET one event: 422 for %s', async (_label, path) => {
      const r = await t.call(path)
      expect(r.status, r.text).toBe(422)
      expect(Array.isArray(r.json.detail)).toBe(true)
    })

    it.each(hostileBodies)('ingest: 422 and nothing written for %s', async (_label, body) => {
      const before = t.audit.stats()
      const r = await t.call(E, { body })
      expect(r.status, r.text).toBe(422)
      expect(r.json.detail[0].loc[0]).toBe('body')
      await t.audit.flush()
      const after = t.audit.stats()
      expect([after.enqueued - before.enqueued, after.rejected - before.rejected]).toEqual([0, 0])
      expect((await t.call(`${E}?operation_type=hostile_probe`)).json.total).toBe(0)
    })

    it('the page sends only parameters the API knows', async () => {
      const view: ViewState = {
        ...DEFAULT_VIEW,
        range: 'custom',
        start: '2026-11-01T00:00',
        end: '2026-11-30T00:00',
        operation_type: 'seeded',
        source: 'api-service',
        result: 'success',
        severity: 'info',
        operator: 'ana@example.com',
        q: 'text',
      }
      for (const v of [view, DEFAULT_VIEW]) {
        const filters = apiFilters(v, Date.parse('2026-11-20T00:00:00Z'))
        // as get-events.ts, get-stats.ts, export-events.ts and delete-events.ts build them
        const calls: [string, string][] = [
          ['GET', `${E}${toQuery({ ...filters, limit: v.size, offset: (v.page - 1) * v.size })}`],
          ['GET', `/api/v1/audit/stats${toQuery(filters)}`],
          ['GET', `/api/v1/audit/stats${toQuery({ start_date: filters.start_date, end_date: filters.end_date })}`],
          ['GET', `${E}/export${toQuery({ ...filters, format: 'csv' })}`],
        ]
        for (const [method, path] of calls) expect([path, (await t.call(path, { method })).status]).toEqual([path, 200])
      }
      // the delete dialog: a range it always has, and confirm (checked with a range that matches nothing)
      const nothing = apiFilters({ ...view, start: '2001-01-01T00:00', end: '2001-01-02T00:00' }, 0)
      const del = await t.call(`${E}${toQuery({ ...nothing, confirm: 'true' })}`, { method: 'DELETE' })
      expect([del.status, del.json]).toEqual([200, { deleted: 0 }])
    })
  })
}
