/**
 * Filter correctness through the HTTP API: 2,000 seeded events, every filter,
 * comma lists, q, inclusive date bounds, order, limit/offset and combinations.
 * The expected ids and totals come from testing/reference.ts (plain
 * TypeScript), never from the SQL under test.
 */
import Papa from 'papaparse'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EVENT_COLUMNS, type EventFilters, type EventRow } from '@audit/core'
import { eventIdAt, referenceFilter, referenceSort, seedEvents, storeEngines } from '@audit/core/testing'
import { testApp } from '../apps/api/test-support/test-app.ts'

const NOW = Date.parse('2026-11-20T12:00:00.000Z')
/** Events for `q`'s edges: text that only the separator between fields keeps apart, a backslash, a word in one field only. */
const edge = (i: number, fields: Partial<EventRow>): EventRow => {
  const ts = NOW - (i + 1) * 3_600_000 - 7
  return { id: eventIdAt(ts), timestamp: new Date(ts).toISOString(), source: 'api-service', operation_type: 'edge_case', result: 'success', severity: 'info', ...fields }
}
const edges = [
  edge(0, { message: 'upload ends with abc', operation_type: 'def_sync', operator: 'Ghi.Ops' }),
  edge(1, { message: 'path C:\\Temp\\ok', operation_type: 'file_scan', operator: 'zoë@example.org' }),
  edge(2, { message: 'unit\u001fsep inside', operation_type: 'sep_probe', operator: 'qq' }),
  edge(3, { operation_type: 'xyzzy_rotate', operator: 'Q9' }),
]
const seeded = [...seedEvents(2000, { now: NOW, days: 30, seed: 2026 }), ...edges]
/** A q of a rare word beside common ones: with statistics, the index is asked the rare word alone. */
const rareBesideCommon = `of ${(seeded[1234] as EventRow).operation_type} #1234`
const sorted = referenceSort(seeded, 'asc')
const at = (i: number) => (sorted[i] as EventRow).timestamp

type Case = [label: string, query: string, filters: EventFilters, opts?: { order?: 'asc' | 'desc'; limit?: number; offset?: number }]
const cases: Case[] = [
  ['no filter (everything)', '', {}],
  ['operation_type', 'operation_type=scan_process', { operation_type: ['scan_process'] }],
  ['source comma list', 'source=frontend,system', { source: ['frontend', 'system'] }],
  ['source repeated', 'source=frontend&source=system', { source: ['frontend', 'system'] }],
  ['result', 'result=warning', { result: ['warning'] }],
  ['result comma list', 'result=failure,warning', { result: ['failure', 'warning'] }],
  ['operator', 'operator=bo%40example.com', { operator: ['bo@example.com'] }],
  ['severity', 'severity=critical', { severity: ['critical'] }],
  ['tenant_id', 'tenant_id=t1', { tenant_id: ['t1'] }],
  ['resource_type + resource_id', 'resource_type=scan&resource_id=res-0,res-5', { resource_type: ['scan'], resource_id: ['res-0', 'res-5'] }],
  ['request_id', 'request_id=req-42', { request_id: ['req-42'] }],
  ['q in message, any case', 'q=SPECIAL', { q: 'special' }],
  ['q in operator', 'q=chloe', { q: 'chloe' }],
  ['q with % and _ taken literally', 'q=100%25_done', { q: '100%_done' }],
  ['q in operation_type only', 'q=XYZZY', { q: 'XYZZY' }],
  ['q in operator, any case', 'q=ghi.OPS', { q: 'ghi.OPS' }],
  ['q with a backslash taken literally', 'q=C%3A%5CTemp%5C', { q: 'C:\\Temp\\' }],
  ['q of one character: a backslash', 'q=%5C', { q: '\\' }],
  ['q of one character: %', 'q=%25', { q: '%' }],
  ['q of one character: ë', 'q=%C3%AB', { q: 'ë' }],
  ['q of two characters', 'q=q9', { q: 'q9' }],
  ['q of a rare word beside common ones', `q=${encodeURIComponent(rareBesideCommon)}`, { q: rareBesideCommon }],
  ['q holding the field separator, inside one field', 'q=unit%1Fsep', { q: 'unit\u001fsep' }],
  ['nothing matches: q across message and operation_type', 'q=abcdef', { q: 'abcdef' }],
  ['nothing matches: q across fields, with a space', 'q=abc%20def', { q: 'abc def' }],
  ['nothing matches: q across fields, with the separator', 'q=abc%1Fdef_sync', { q: 'abc\u001fdef_sync' }],
  ['nothing matches: q across operation_type and operator', 'q=syncghi', { q: 'syncghi' }],
  ['extra key', 'extra.channel_id=44456637', { extra: { channel_id: '44456637' } }],
  ['start_date inclusive', `start_date=${at(1500)}`, { start_date: at(1500) }],
  ['end_date inclusive', `end_date=${at(300)}`, { end_date: at(300) }],
  ['both bounds inclusive', `start_date=${at(700)}&end_date=${at(900)}`, { start_date: at(700), end_date: at(900) }],
  ['date-only start (UTC midnight)', 'start_date=2026-11-13', { start_date: '2026-11-13T00:00:00.000Z' }],
  ['offset with a zone', `start_date=${encodeURIComponent('2026-11-13T02:00:00+02:00')}`, { start_date: '2026-11-13T00:00:00.000Z' }],
  ['order asc', 'order=asc&limit=50', {}, { order: 'asc', limit: 50 }],
  ['limit and offset', 'limit=25&offset=100', {}, { limit: 25, offset: 100 }],
  ['last partial page', 'limit=300&offset=1900', {}, { limit: 300, offset: 1900 }],
  ['combination 1', 'result=success,warning&source=api-service&tenant_id=t1', { result: ['success', 'warning'], source: ['api-service'], tenant_id: ['t1'] }],
  ['combination 2', `severity=error,critical&operation_type=cache_refresh,config_update&start_date=${at(1000)}&order=asc`, { severity: ['error', 'critical'], operation_type: ['cache_refresh', 'config_update'], start_date: at(1000) }, { order: 'asc' }],
  ['combination 3', 'q=scan&operator=ana%40example.com&limit=7&offset=3', { q: 'scan', operator: ['ana@example.com'] }, { limit: 7, offset: 3 }],
  ['nothing matches', 'operation_type=none_such', { operation_type: ['none_such'] }],
  ['operation_type prefix', 'operation_type=stock_*', { operation_type: ['stock_*'] }],
  ['operation_type prefix or exact', 'operation_type=stock_*,scan_process', { operation_type: ['stock_*', 'scan_process'] }],
  ['operation_type pattern inside', 'operation_type=*_re*', { operation_type: ['*_re*'] }],
  ['operation_type: _ in a pattern is literal', 'operation_type=stock_price*,stock*retrieval', { operation_type: ['stock_price*', 'stock*retrieval'] }],
  ['operator contains', 'operator=*example*', { operator: ['*example*'] }],
  ['operator contains, case-sensitive', 'operator=*Example*', { operator: ['*Example*'] }],
  ['operator suffix and prefix', 'operator=*@example.com,svc-*', { operator: ['*@example.com', 'svc-*'] }],
  ['nothing matches: an escaped star is literal (operator)', 'operator=ana%5C*', { operator: ['ana\\*'] }],
  ['not operator (events without an operator stay)', 'not.operator=bo%40example.com', { not: { operator: ['bo@example.com'] } }],
  ['not operator contains', 'not.operator=*example*', { not: { operator: ['*example*'] } }],
  ['not operation_type prefix, with a positive filter', 'result=failure&not.operation_type=stock_*', { result: ['failure'], not: { operation_type: ['stock_*'] } }],
  ['not a list, and not another field: each drops its own', 'not.source=frontend,system&not.severity=info', { not: { source: ['frontend', 'system'], severity: ['info'] } }],
  ['not tenant_id', 'not.tenant_id=t1', { not: { tenant_id: ['t1'] } }],
  ['not resource_type and request_id', 'not.resource_type=scan&not.request_id=req-42', { not: { resource_type: ['scan'], request_id: ['req-42'] } }],
  ['not extra key (events without the key stay)', 'not.extra.channel_id=44456637', { not: { extra: { channel_id: '44456637' } } }],
  ['nothing matches: extra key and not the same key', 'extra.channel_id=44456637&not.extra.channel_id=44456637', { extra: { channel_id: '44456637' }, not: { extra: { channel_id: '44456637' } } }],

]

const engines = storeEngines()
interface SqlHandle {
  query: (text: string, params?: unknown[]) => Promise<{ rows: unknown[] }>
}

for (const [engine, open] of engines) {
  describe(`API filters over 2,000 events: ${engine}`, () => {
    let t: Awaited<ReturnType<typeof testApp>>
    let done: () => Promise<void>
    let sql: <T>(text: string, params?: unknown[]) => Promise<T[]>
    beforeAll(async () => {
      const o = await open()
      done = o.done
      for (let i = 0; i < seeded.length; i += 500) await o.store.insertEvents(seeded.slice(i, i + 500))
      // statistics, as autovacuum would gather them, so that q is asked as it is on a live table
      const handle = o.store as { db?: SqlHandle; pools?: { read: SqlHandle } }
      sql = async <T,>(text: string, params: unknown[] = []) => (await (handle.db ?? (handle.pools as { read: SqlHandle }).read).query(text, params)).rows as T[]
      await sql('analyze public.audit_events')
      // totals are compared exactly with the reference, so no estimate below 2,000
      t = await testApp({ store: o.store, countCap: 100_000 })
    }, 120_000)
    afterAll(async () => {
      await t.close()
      await done()
    })

    it.each(cases)('%s', async (_label, query, filters, opts = {}) => {
      const limit = opts.limit ?? 1000
      const offset = opts.offset ?? 0
      const all = referenceSort(referenceFilter(seeded, filters), opts.order ?? 'desc')
      const qs = query.includes('limit=') ? query : `${query}${query ? '&' : ''}limit=${limit}`
      const r = await t.call(`/api/v1/audit/events?${qs}`, { key: 'read' })
      expect(r.status).toBe(200)
      expect(r.json.total).toBe(all.length)
      expect(r.json.events.map((e: { id: string }) => e.id)).toEqual(all.slice(offset, offset + limit).map((e) => e.id))
      expect(r.json.has_more).toBe(offset + limit < all.length)
    })

    // The export takes the same filters (on a server, in the COPY statement): every match, in order, no page limit.
    it.each(cases.filter(([, query]) => !/limit=|offset=/.test(query)))('export: %s', async (_label, query, filters, opts = {}) => {
      const all = referenceSort(referenceFilter(seeded, filters), opts.order ?? 'desc')
      const r = await t.call(`/api/v1/audit/events/export?${query}`, { key: 'read' })
      expect(r.status).toBe(200)
      const rows = Papa.parse<string[]>(r.text, { skipEmptyLines: true }).data
      expect(rows[0]).toEqual([...EVENT_COLUMNS])
      expect(rows.slice(1).map((row) => row[0])).toEqual(all.map((e) => e.id))
    })

    it('refuses an exclusion of what cannot be excluded, with 422', async () => {
      for (const q of ['not.colour=x', 'not.q=x', 'not.start_date=2026-01-01', 'not.extra.bad%20key=x', 'not.result=nope']) {
        const r = await t.call(`/api/v1/audit/events?${q}`, { key: 'read' })
        expect(r.status, q).toBe(422)
      }
    })

    it('q asks the trigram index its rare word alone when a common word is beside it, and the whole text otherwise', async () => {
      const clause = async (q: string) => (await sql<{ c: string }>('select audit_private.audit_events_q_clause($1) as c', [q]))[0]?.c
      const searched = (await sql<{ e: string }>('select audit_private.audit_events_search_expr() as e'))[0]?.e
      const pattern = `E'%${rareBesideCommon.replaceAll('_', '\\\\_')}%'` // %L doubles the escaping backslash
      expect(await clause(rareBesideCommon)).toBe(
        `${searched} ilike '%1234%' and ` +
          `(message ilike ${pattern} or operation_type ilike ${pattern} or operator ilike ${pattern})`,
      )
      expect(await clause('XYZZY')).toBe(`${searched} ilike '%XYZZY%'`)
      // with the separator in it, field by field (the index cannot tell where a field ends)
      const perField = await clause('abc\u001fdef')
      expect(perField).toMatch(/^\(message ilike '%abc.def%' or operation_type ilike .* or operator ilike .*\)$/)
      expect(perField).toContain('abc\u001fdef')
    })

    it('the seeded mix makes every case meaningful', () => {
      for (const [label, , filters] of cases) {
        const n = referenceFilter(seeded, filters).length
        const none = label.startsWith('nothing matches')
        if (none) expect(n, label).toBe(0)
        else expect(n, label).toBeGreaterThan(0)
        if (Object.keys(filters).length > 0 && !none) expect(n, label).toBeLessThan(seeded.length)
      }
    })
  })
}
