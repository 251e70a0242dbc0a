import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deleteInChunks, newEventId, type AuditStore, type EventFilters, type EventRow } from '@audit/core'
import { referenceFilter, referenceSort } from './reference.ts'
import { eventIdAt, seedEvents } from './seed.ts'

export interface StoreFactory {
  /** A store over an empty, migrated database. */
  open(): Promise<AuditStore>
  /** Releases what `open` made (after the store is closed). */
  cleanup?(): Promise<void>
  /** Refreshes the planner's statistics, as autovacuum would on a server (none: the store keeps them itself, or cannot). */
  analyze?(): Promise<void>
}

const NOW = Date.parse('2026-11-20T12:00:00.000Z')

function row(overrides: Partial<EventRow> = {}): EventRow {
  const ts = overrides.timestamp ? Date.parse(overrides.timestamp) : NOW - 365 * 86_400_000
  return {
    id: eventIdAt(ts),
    timestamp: new Date(ts).toISOString(),
    source: 'api-service',
    operation_type: 'conformance',
    result: 'success',
    severity: 'info',
    ...overrides,
  }
}

/**
 * The storage contract, run against any store: every store must pass it
 * unchanged. The seeded set's expected answers are computed in TypeScript
 * (testing/reference.ts), not with the store's SQL.
 */
export function runStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    let store: AuditStore
    const seeded = seedEvents(300, { now: NOW, days: 30, seed: 7 })

    beforeAll(async () => {
      store = await factory.open()
      for (let i = 0; i < seeded.length; i += 100) await store.insertEvents(seeded.slice(i, i + 100))
    }, 60_000)

    afterAll(async () => {
      await store?.close()
      await factory.cleanup?.()
    })

    it('writes the seed example with exactly the expected columns', async () => {
      const id = newEventId()
      await store.insertEvents([
        row({
          id,
          timestamp: '2025-01-02T03:04:05.678Z',
          operator: 'ana@example.com',
          operation_type: 'stock_price_download',
          message: 'Successfully downloaded data for AAPL',
          extra_info: { symbol: 'AAPL', records_count: 100 },
        }),
      ])
      expect(await store.getEvent(id)).toEqual({
        id,
        timestamp: '2025-01-02T03:04:05.678Z',
        source: 'api-service',
        operator: 'ana@example.com',
        operation_type: 'stock_price_download',
        result: 'success',
        message: 'Successfully downloaded data for AAPL',
        extra_info: { symbol: 'AAPL', records_count: 100 },
        severity: 'info',
        tenant_id: null,
        actor_type: null,
        resource_type: null,
        resource_id: null,
        request_id: null,
        ip_address: null,
        user_agent: null,
      })
    })

    it('round-trips every added column', async () => {
      const r = row({
        operation_type: 'roundtrip',
        result: 'failure',
        severity: 'critical',
        tenant_id: 'acme',
        actor_type: 'admin',
        resource_type: 'invoice',
        resource_id: 'inv_1',
        request_id: 'req-rt',
        ip_address: '2001:db8::7',
        user_agent: 'Mozilla/5.0 ünïcødé',
        extra_info: { nested: { a: [1, 2, { b: null }] }, emoji: '🚀' },
      })
      await store.insertEvents([r])
      const got = await store.getEvent(r.id)
      expect(got).toMatchObject({ ...r, operator: null, message: null })
    })

    it('is idempotent on id: a re-sent batch writes nothing twice', async () => {
      const rows = [row({ operation_type: 'idem' }), row({ operation_type: 'idem' })]
      expect(await store.insertEvents(rows)).toBe(2)
      expect(await store.insertEvents(rows)).toBe(0)
      const page = await store.queryEvents({ filters: { operation_type: ['idem'] }, limit: 10 })
      expect(page.total).toBe(2)
    })

    it('writes only the new events of a batch that repeats some', async () => {
      const [a, b, c] = [row({ operation_type: 'idem_mix' }), row({ operation_type: 'idem_mix' }), row({ operation_type: 'idem_mix' })]
      expect(await store.insertEvents([a, b])).toBe(2)
      expect(await store.insertEvents([b, c, a])).toBe(1)
      expect((await store.queryEvents({ filters: { operation_type: ['idem_mix'] }, limit: 10 })).total).toBe(3)
    })

    it('round-trips text that any wire format must escape', async () => {
      const nasty = 'tab\there\nnew line\r\nCRLF back\\slash \\N "quoted" \\t ünïcødé 🚀'
      const r = row({
        operation_type: 'escaping',
        operator: '\\N',
        message: nasty,
        user_agent: '\tleading tab',
        resource_id: '\\',
        extra_info: { nasty, 'key\twith\ttabs': ['\\N', '\n', '\u0001', { deep: 'a\\b' }], n: -1.5e-7 },
      })
      await store.insertEvents([r])
      expect(await store.getEvent(r.id)).toMatchObject({ ...r })
    })

    it('refuses a large batch with one bad row first, and writes none of it', async () => {
      const rows = Array.from({ length: 3000 }, () => row({ operation_type: 'poison_large', message: 'x'.repeat(200) }))
      rows[0] = { ...rows[0], timestamp: 'not a time' } as EventRow
      const err = await store.insertEvents(rows).then(
        () => null,
        (e: unknown) => e,
      )
      expect(store.isDataError(err)).toBe(true)
      expect((await store.queryEvents({ filters: { operation_type: ['poison_large'] }, limit: 1 })).total).toBe(0)
      expect(await store.insertEvents(rows.slice(1))).toBe(2999)
    })

    it('derives severity from result when a writer leaves it out', async () => {
      const rows = (['success', 'warning', 'failure'] as const).map((result) => {
        const { severity: _, ...r } = row({ operation_type: 'derive', result })
        return r as EventRow
      })
      await store.insertEvents(rows)
      const got = await Promise.all(rows.map((r) => store.getEvent(r.id)))
      expect(got.map((e) => e?.severity)).toEqual(['info', 'warning', 'error'])
    })

    it('refuses a batch with a bad row as a data error and writes none of it', async () => {
      const good = row({ operation_type: 'poison' })
      const bad = { ...row({ operation_type: 'poison' }), result: 'maybe' } as unknown as EventRow
      const err = await store.insertEvents([good, bad]).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).not.toBeNull()
      expect(store.isDataError(err)).toBe(true)
      expect(await store.getEvent(good.id)).toBeNull()
      expect(store.isDataError(new Error('connect ECONNREFUSED'))).toBe(false)
    })

    it('deletes matching events in bounded chunks and nothing else', async () => {
      const doomed = Array.from({ length: 30 }, () => row({ operation_type: 'purge_me' }))
      const kept = row({ operation_type: 'purge_me_not' })
      await store.insertEvents([...doomed, kept])
      expect(await store.deleteEvents({ operation_type: ['purge_me'] }, 7)).toBe(7)
      expect(await deleteInChunks(store, { operation_type: ['purge_me'] }, 7)).toBe(23)
      expect((await store.queryEvents({ filters: { operation_type: ['purge_me'] }, limit: 1 })).total).toBe(0)
      expect(await store.getEvent(kept.id)).not.toBeNull()
      await expect(store.deleteEvents({}, 10)).rejects.toThrow(/at least one filter/)
    })

    it('returns null for an unknown id', async () => {
      expect(await store.getEvent(newEventId())).toBeNull()
    })

    describe('queries match the reference filter over the seeded set', () => {
      const inRange = (f: EventFilters): EventFilters => ({ start_date: '2026-10-01T00:00:00Z', end_date: '2026-11-21T00:00:00Z', ...f })
      const sorted = referenceSort(seeded, 'asc')
      const pick = (i: number) => sorted[i] as EventRow
      const cases: [string, EventFilters][] = [
        ['everything in range', inRange({})],
        ['one operation type', inRange({ operation_type: ['scan_process'] })],
        ['two sources (comma list)', inRange({ source: ['frontend', 'system'] })],
        ['result', inRange({ result: ['failure'] })],
        ['severity list', inRange({ severity: ['error', 'critical'] })],
        ['operator', inRange({ operator: ['ana@example.com'] })],
        ['tenant', inRange({ tenant_id: ['t2'] })],
        ['actor type', inRange({ actor_type: ['guest'] })],
        ['resource', inRange({ resource_type: ['symbol'], resource_id: ['res-0', 'res-5'] })],
        ['request id', inRange({ request_id: ['req-7'] })],
        ['q is case-insensitive across operator', inRange({ q: 'CHLOE@' })],
        ['q matches operation_type', inRange({ q: 'CACHE_ref' })],
        ['q treats % and _ literally', inRange({ q: '100%_d' })],
        ['extra key', inRange({ extra: { channel_id: '44456637' } })],
        ['extra numeric key', inRange({ extra: { records_count: String(pick(3).extra_info?.records_count) } })],
        ['combination', inRange({ result: ['success', 'warning'], source: ['api-service'], tenant_id: ['t1'] })],
        ['inclusive bounds', { start_date: pick(10).timestamp, end_date: pick(20).timestamp }],
        ['start only', { start_date: pick(30).timestamp }],
      ]

      for (const [label, filters] of cases) {
        it(label, async () => {
          const expected = referenceSort(referenceFilter(seeded, filters))
          const page = await store.queryEvents({ filters, limit: 1000 })
          expect(page.total).toBe(expected.length)
          expect(page.events.map((e) => e.id)).toEqual(expected.map((e) => e.id))
          if (label !== 'everything in range' && label !== 'start only') expect(expected.length).toBeLessThan(seeded.length)
          expect(expected.length).toBeGreaterThan(0)
        })
      }

      it('orders ascending and pages with limit/offset', async () => {
        const f = inRange({ source: ['frontend'] })
        const asc = referenceSort(referenceFilter(seeded, f), 'asc')
        const page = await store.queryEvents({ filters: f, limit: 5, offset: 3, order: 'asc' })
        expect(page.events.map((e) => e.id)).toEqual(asc.slice(3, 8).map((e) => e.id))
        expect(page.total).toBe(asc.length)
      })

      it('pages by keyset cursor in both orders, covering every row once', async () => {
        const f = inRange({})
        for (const order of ['desc', 'asc'] as const) {
          const seen: string[] = []
          let after: string | undefined
          for (;;) {
            const page = await store.queryEvents({ filters: f, limit: 37, order, ...(after ? { after } : {}) })
            seen.push(...page.events.map((e) => e.id))
            if (page.events.length < 37) break
            after = page.events.at(-1)?.id
          }
          expect(seen).toEqual(referenceSort(referenceFilter(seeded, f), order).map((e) => e.id))
        }
      })

      it('counts exactly up to countCap, then estimates and says so', async () => {
        const all = referenceFilter(seeded, inRange({})).length
        await factory.analyze?.()
        const page = await store.queryEvents({ filters: inRange({}), limit: 1, countCap: 10 })
        expect(page.totalExact).toBe(false)
        expect(page.total).toBeGreaterThan(10)
        expect(page.events).toHaveLength(1)
        // the estimate is the planner's: the right order of magnitude, not the exact figure
        expect(page.total).toBeGreaterThan(all / 10)
        expect(page.total).toBeLessThan(all * 10)
        const atCap = await store.queryEvents({ filters: inRange({}), limit: 1, countCap: all })
        expect(atCap).toMatchObject({ total: all, totalExact: true })
        const exact = await store.queryEvents({ filters: { request_id: ['req-7'] }, limit: 1, countCap: 1000 })
        expect(exact.totalExact).toBe(true)
        expect(exact.total).toBe(referenceFilter(seeded, { request_id: ['req-7'] }).length)
        const countOnly = await store.queryEvents({ filters: inRange({}), limit: 0 })
        expect(countOnly).toEqual({ events: [], total: all, totalExact: true })
      })

      it('stats equal counts computed independently, and the histogram sums to the total', async () => {
        const f = inRange({ source: ['api-service', 'frontend', 'system'] })
        const rows = referenceFilter(seeded, f)
        const tally = (key: 'result' | 'operation_type' | 'source' | 'severity') =>
          rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r[key]]: (acc[r[key]] ?? 0) + 1 }), {})
        const st = await store.stats({ filters: f, bucket: 'day', groupBy: ['symbol'] })
        expect(st.total).toBe(rows.length)
        expect(st.by_result).toEqual(tally('result'))
        expect(st.by_operation_type).toEqual(tally('operation_type'))
        expect(st.by_source).toEqual(tally('source'))
        expect(st.by_severity).toEqual(tally('severity'))
        expect(st.histogram.bucket).toBe('day')
        const sum = st.histogram.points.reduce((n, p) => n + p.success + p.failure + p.warning, 0)
        expect(sum).toBe(rows.length)
        const days = new Set(rows.map((r) => r.timestamp.slice(0, 10) + 'T00:00:00Z'))
        expect(st.histogram.points.map((p) => p.start)).toEqual([...days].sort())
        const symbols = rows.reduce<Record<string, number>>((acc, r) => {
          const v = String(r.extra_info?.symbol)
          return { ...acc, [v]: (acc[v] ?? 0) + 1 }
        }, {})
        expect(Object.fromEntries((st.groups ?? []).map((g) => ['value' in g ? g.value : null, g.count]))).toEqual(symbols)
        expect((st.groups ?? []).map((g) => g.count)).toEqual([...(st.groups ?? []).map((g) => g.count)].sort((a, b) => b - a))
      })

      it('stats by hour over a short range', async () => {
        const f = { start_date: pick(250).timestamp, end_date: pick(299).timestamp }
        const rows = referenceFilter(seeded, f)
        const st = await store.stats({ filters: f, bucket: 'hour' })
        expect(st.total).toBe(rows.length)
        const hours = new Set(rows.map((r) => r.timestamp.slice(0, 13) + ':00:00Z'))
        expect(st.histogram.points.map((p) => p.start)).toEqual([...hours].sort())
        expect(st.histogram.points.reduce((n, p) => n + p.success + p.failure + p.warning, 0)).toBe(rows.length)
      })

      it('stats of nothing are zeros, not nulls', async () => {
        const st = await store.stats({ filters: { operation_type: ['none_such'] }, bucket: 'hour' })
        expect(st).toEqual({ total: 0, by_result: {}, by_operation_type: {}, by_source: {}, by_severity: {}, histogram: { bucket: 'hour', points: [] } })
      })

      it('refuses an extra key that is not a plain name', async () => {
        await expect(store.queryEvents({ filters: { extra: { "a') or true --": 'x' } }, limit: 1 })).rejects.toThrow(/extra_info key/)
      })
    })
  })
}
