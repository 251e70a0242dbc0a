/**
 * The CSV export's bytes. On a Postgres server the database writes them
 * (COPY … TO STDOUT); every other store pages through events in Node. Both
 * must give the same file, byte for byte, and follow the rule restated here.
 */
import Papa from 'papaparse'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EVENT_COLUMNS, eventsToCsv, type AuditEvent, type AuditStore, type EventRow } from '@audit/core'
import { openPostgresStore, type PostgresPools } from '@audit/core/postgres'
import { createTestDatabase, describeEngine, seedEvents, type TestDatabase } from '@audit/core/testing'
import { testApp, KEYS } from '../apps/api/test-support/test-app.ts'
import { csvLine, trickyEvent } from './csv-rule.ts'

const E = '/api/v1/audit/events'
const NOW = Date.parse('2026-11-20T12:00:00.000Z')

const tricky: EventRow[] = [
  { message: '=1+1', operator: '@cmd', tenant_id: '-2+3', resource_type: '+x', request_id: '\tTAB', user_agent: '\rCR' },
  { message: 'multi\nline =not a formula\r\nCRLF', operator: ' leading and trailing ', resource_id: '' },
  { message: 'comma, "quotes", and a \\ backslash', operator: '\ufeffBOM', user_agent: 'ünïcødé ✓ 🚀', timestamp: '2026-11-20T11:59:57.123999Z' }, // microseconds: truncated, as JavaScript does
  { message: '=multi\nline formula', extra_info: { b: [1, 2.5, true, null, { deep: 'q"\\\n\t\u0001' }], a: 'x', 'ключ': {}, e: [] } },
  { message: null, operator: null, extra_info: null, source: '-dash-source', resource_type: '-dash.type' },
].map((o, i) => trickyEvent(i, NOW, { ip_address: i % 2 ? '2001:db8::7' : '203.0.113.9', ...o }))

describe(`CSV export on ${describeEngine()} (${process.env.TEST_DATABASE_URL ? 'written by COPY' : 'PGlite socket: written page by page'})`, () => {
  let db: TestDatabase
  let store: AuditStore & { pools: PostgresPools }
  let t: Awaited<ReturnType<typeof testApp>>
  const seeded = seedEvents(5000, { now: NOW, days: 10, seed: 77 })

  beforeAll(async () => {
    db = await createTestDatabase()
    store = await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions })
    for (let i = 0; i < seeded.length; i += 1000) await store.insertEvents(seeded.slice(i, i + 1000))
    await store.insertEvents(tricky)
    t = await testApp({ store, countCap: 100_000 })
  }, 120_000)
  afterAll(async () => {
    await t.close()
    await db.drop()
  })

  /** Every matching event, read with the store's pages (not the export). */
  async function all(filters: Parameters<AuditStore['queryEvents']>[0]['filters'], order: 'asc' | 'desc') {
    const out: AuditEvent[] = []
    let after: string | undefined
    for (;;) {
      const page = await store.queryEvents({ filters, limit: 1000, order, withTotal: false, ...(after ? { after } : {}) })
      out.push(...page.events)
      if (page.events.length < 1000) return out
      after = page.events.at(-1)?.id
    }
  }

  it('gives the same bytes as the page-by-page writer, and as the rule, in both orders and with filters', async () => {
    const cases: [string, Parameters<typeof all>[0], 'asc' | 'desc'][] = [
      ['order=asc', {}, 'asc'],
      ['', {}, 'desc'],
      ['operation_type=tricky_export', { operation_type: ['tricky_export'] }, 'desc'],
      ['source=frontend&q=load&result=failure,warning', { source: ['frontend'], q: 'load', result: ['failure', 'warning'] }, 'desc'],
    ]
    for (const [q, filters, order] of cases) {
      const res = await t.call(`${E}/export?${q}`, { key: 'read' })
      expect(res.status).toBe(200)
      const events = await all(filters, order)
      expect(events.length).toBeGreaterThan(0)
      const paged = eventsToCsv(events, { header: true })
      if (res.text !== paged) expect(res.text.split('\n')).toEqual(paged.split('\n')) // a readable diff
      expect(res.text).toBe(`${EVENT_COLUMNS.join(',')}\n${events.map(csvLine).join('')}`)
      expect(Papa.parse(res.text, { skipEmptyLines: true }).data).toHaveLength(events.length + 1)
    }
  })

  it('writes the tricky rows exactly so', async () => {
    const res = await t.call(`${E}/export?operation_type=tricky_export&order=asc`, { key: 'read' })
    const rows = Papa.parse<Record<string, string>>(res.text, { header: true }).data.filter((r) => r.id)
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]))
    expect(byId[tricky[0]!.id]).toMatchObject({ message: "'=1+1", operator: "'@cmd", tenant_id: "'-2+3", resource_type: "'+x", request_id: "'\tTAB", user_agent: "'\rCR" })
    expect(byId[tricky[1]!.id]).toMatchObject({ message: 'multi\nline =not a formula\r\nCRLF', operator: ' leading and trailing ', resource_id: '' })
    expect(byId[tricky[3]!.id]!.message).toBe("'=multi\nline formula")
    expect(byId[tricky[4]!.id]).toMatchObject({ source: "'-dash-source", resource_type: "'-dash.type", message: '', extra_info: '' })
    // jsonb's own order (shorter keys first) and spacing
    expect(res.text).toContain('"{""a"": ""x"", ""b"": [1, 2.5, true, null, {""deep"": ""q\\""\\\\\\n\\t\\u0001""}], ""e"": [], ""ключ"": {}}"')
    // a null and an empty text stay apart: ,, against ,"",
    expect(res.text).toMatch(/"' leading and trailing ",|" leading and trailing ",/)
    expect(res.text).toContain(',"",')
  })

  const activeCopies = async () =>
    (await store.pools.read.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where query ilike 'copy (select%' and state = 'active'`)).rows[0]?.n

  it('a client that goes away stops the query, and the pool keeps working', async () => {
    // more times than the pool has connections: one that leaked would hang the next
    for (let i = 0; i < 12; i++) {
      const res = await t.app.request(`${E}/export`, { headers: { authorization: `Bearer ${KEYS.read}` } })
      const reader = res.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value).startsWith('id,timestamp,')).toBe(true)
      await reader.cancel()
    }
    await expect.poll(activeCopies, { timeout: 5000 }).toBe(0)
    expect((await store.queryEvents({ filters: {}, limit: 3 })).events).toHaveLength(3)
  })

  // items 2 and 3 of the integrity issue: HEAD and never-read exports used to reserve a connection each, for good
  it('HEAD, and a body cancelled before its first read, hold nothing', async () => {
    for (let i = 0; i < 12; i++) {
      const head = await t.app.request(`${E}/export`, { method: 'HEAD', headers: { authorization: `Bearer ${KEYS.read}` } })
      expect(head.status).toBe(200)
      expect(head.headers.get('x-total-count')).toBe(String(seeded.length + tricky.length))
      const res = await t.app.request(`${E}/export?format=${i % 2 ? 'csv' : 'ndjson'}`, { headers: { authorization: `Bearer ${KEYS.read}` } })
      await res.body!.cancel()
    }
    const res = await t.call(`${E}/export?operation_type=tricky_export`, { key: 'read' })
    expect(res.status).toBe(200)
    expect(Papa.parse(res.text, { skipEmptyLines: true }).data).toHaveLength(tricky.length + 1)
    expect(await activeCopies()).toBe(0)
  })

  it('paused downloads take export slots only: one more is refused with 503, reads and writes go on, and a cancel frees its slot', async () => {
    const paused: ReadableStreamDefaultReader<Uint8Array>[] = []
    for (let i = 0; i < 4; i++) {
      const res = await t.app.request(`${E}/export`, { headers: { authorization: `Bearer ${KEYS.read}` } })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      await reader.read() // started, then never read again
      paused.push(reader)
    }
    const refused = await t.call(`${E}/export`, { key: 'read' })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBeTruthy()
    expect((await t.call(`${E}?limit=5`, { key: 'read' })).status).toBe(200)
    const written = await t.call(E, { key: 'ingest', body: { source: 'frontend', operation_type: 'export_pause_probe', result: 'success' } })
    expect(written.status).toBeLessThan(300)
    await paused.pop()!.cancel()
    const again = await t.app.request(`${E}/export?operation_type=tricky_export`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    expect(again.status).toBe(200)
    expect(Papa.parse(await again.text(), { skipEmptyLines: true }).data).toHaveLength(tricky.length + 1)
    for (const r of paused) await r.cancel()
    await expect.poll(activeCopies, { timeout: 5000 }).toBe(0)
  })

  it('sixty sequential exports of every kind (empty, full, cancelled, HEAD) leave every connection usable', async () => {
    const kinds = ['operation_type=none_such', '', 'cancel', 'head', 'format=ndjson&operation_type=tricky_export']
    for (let i = 0; i < 60; i++) {
      const kind = kinds[i % kinds.length]!
      const res = await t.app.request(`${E}/export${kind === 'cancel' || kind === 'head' ? '' : `?${kind}`}`, {
        method: kind === 'head' ? 'HEAD' : 'GET',
        headers: { authorization: `Bearer ${KEYS.read}` },
      })
      expect(res.status).toBe(200)
      if (kind === 'cancel') {
        const reader = res.body!.getReader()
        await reader.read()
        await reader.cancel()
      } else await res.text()
    }
    await expect.poll(activeCopies, { timeout: 5000 }).toBe(0)
    const idle = await store.pools.read.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`)
    expect(idle.rows[0]?.n).toBe(0)
    expect((await store.queryEvents({ filters: {}, limit: 3 })).events).toHaveLength(3)
  })
})
