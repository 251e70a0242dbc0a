/**
 * The seeds' own example queries, asked through the API and compared with
 * the same question put to the database in SQL: KissBot's four (seed 000,
 * "Example Queries", translated from SQLite to Postgres) and Callastar's
 * "errors and criticals of a range" (seed 001). On PGlite, and on the
 * Postgres store (the server with TEST_DATABASE_URL, else PGlite over the
 * wire). Events go in through the API, with microseconds and Callastar's
 * `creator` actor type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mulberry32, storeEngines } from '@audit/core/testing'
import type { AuditStore } from '@audit/core'
import { testApp } from '../apps/api/test-support/test-app.ts'

const NOW = Date.parse('2026-11-20T12:00:00.000Z')
const HOUR = 3_600_000

/** KissBot's EventSub hub, Callastar's creators: 400 events over two days, every time with microseconds. */
function seedEvents() {
  const rnd = mulberry32(14)
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T
  const types = ['eventsub_create', 'eventsub_create_failed', 'eventsub_event_routed', 'eventsub_ws_reconnect', 'eventsub_hub_stop', 'bot_start', 'bot_crash', 'token_needs_reauth']
  const channels = ['44456636', '44456637', '51000001']
  const topics = ['stream.online', 'stream.offline']
  const errors = ['cost_exceeded', 'rate_limited']
  return Array.from({ length: 400 }, (_, i) => {
    // the last 20: routed events of the last hour (KissBot's second query)
    const operation_type = i >= 380 ? 'eventsub_event_routed' : pick(types)
    const failed = operation_type.endsWith('_failed') || operation_type === 'bot_crash'
    const severity = failed ? pick(['error', 'critical'] as const) : pick(['debug', 'info', 'warning', 'error', 'critical'] as const)
    const micros = String(1 + Math.floor(rnd() * 998)).padStart(3, '0')
    const ts = new Date(NOW - Math.floor(rnd() * (i >= 380 ? 0.9 : 48) * HOUR)).toISOString().replace('Z', `${micros}Z`)
    const extra: Record<string, unknown> = { channel_id: pick(channels), topic: pick(topics) }
    if (operation_type === 'eventsub_create_failed') extra.error = pick(errors)
    if (operation_type === 'eventsub_ws_reconnect') Object.assign(extra, { attempt: 1 + (i % 4), backoff_s: 2 ** (i % 4) })
    return {
      timestamp: ts,
      source: i % 5 === 0 ? 'callastar' : 'kissbot',
      operation_type,
      result: failed ? 'failure' : 'success',
      severity,
      actor_type: i % 5 === 0 ? 'creator' : pick(['system', 'service'] as const),
      operator: i % 5 === 0 ? `creator-${i % 3}` : 'serda_bot',
      extra_info: extra,
    }
  })
}

/** A time as the API writes it, with six fraction digits (SQL's to_char US). */
const micro = (ts: string) => (/\.\d{3}Z$/.test(ts) ? ts.replace('Z', '000Z') : ts)
const TS = `to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

type Sql = <T>(text: string, params?: unknown[]) => Promise<T[]>

for (const [engine, open] of storeEngines()) {
  describe(`the seeds' queries through the API equal the same SQL: ${engine}`, () => {
    let t: Awaited<ReturnType<typeof testApp>>
    let done: () => Promise<void>
    let sql: Sql
    let noSeqScan: <T>(text: string) => Promise<T[]>
    const since = (ms: number) => new Date(NOW - ms).toISOString()
    beforeAll(async () => {
      const o = await open()
      done = o.done
      const store = o.store as AuditStore & { db?: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> }; pools?: { read: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> } } }
      const q = store.db ?? store.pools?.read
      if (!q) throw new Error('no SQL handle')
      sql = async <T,>(text: string, params: unknown[] = []) => (await q.query(text, params)).rows as T[]
      // one session with enable_seqscan off: the table is small, so the planner would scan it whatever index exists
      noSeqScan = async <T,>(text: string) => {
        if (store.db) {
          await store.db.query('set enable_seqscan = off')
          try {
            return (await store.db.query(text)).rows as T[]
          } finally {
            await store.db.query('reset enable_seqscan')
          }
        }
        const c = await (store.pools as unknown as { read: import('pg').Pool }).read.connect()
        try {
          await c.query('set enable_seqscan = off')
          const rows = (await c.query(text)).rows as T[]
          await c.query('reset enable_seqscan')
          return rows
        } finally {
          c.release()
        }
      }
      t = await testApp({ store: o.store, countCap: 100_000 })
      const r = await t.call('/api/v1/audit/events', { key: 'ingest', body: { events: seedEvents() } })
      expect(r.status).toBe(201)
    }, 120_000)
    afterAll(async () => {
      await t.close()
      await done()
    })

    it('KissBot: EventSub errors of the last 24 h (operation_type=eventsub_*)', async () => {
      const r = await t.call(`/api/v1/audit/events?operation_type=eventsub_*&severity=error,critical&start_date=${since(24 * HOUR)}&limit=1000`, { key: 'read' })
      const rows = await sql<{ id: string }>(
        `select id from public.audit_events
         where operation_type like 'eventsub\\_%' and severity in ('error', 'critical') and "timestamp" >= $1
         order by "timestamp" desc, id desc`,
        [since(24 * HOUR)],
      )
      expect(rows.length).toBeGreaterThan(10)
      expect(r.json.events.map((e: { id: string }) => e.id)).toEqual(rows.map((x) => x.id))
    })

    it('KissBot: events routed by channel in the last hour', async () => {
      const r = await t.call(`/api/v1/audit/stats?operation_type=eventsub_event_routed&start_date=${since(HOUR)}&group_by=extra.channel_id`, { key: 'read' })
      const rows = await sql<{ value: string; count: number }>(
        `select extra_info ->> 'channel_id' as value, count(*)::int as count from public.audit_events
         where operation_type = 'eventsub_event_routed' and "timestamp" >= $1
         group by 1 order by 2 desc, 1`,
        [since(HOUR)],
      )
      expect(rows.length).toBeGreaterThan(0)
      expect(r.json.groups).toEqual(rows)
    })

    it('KissBot: the last 10 WebSocket reconnects with attempt and backoff', async () => {
      const r = await t.call('/api/v1/audit/events?operation_type=eventsub_ws_reconnect&limit=10', { key: 'read' })
      const rows = await sql<{ ts: string; attempt: number; backoff: number }>(
        `select ${TS} as ts, (extra_info ->> 'attempt')::int as attempt, (extra_info ->> 'backoff_s')::int as backoff
         from public.audit_events where operation_type = 'eventsub_ws_reconnect' order by "timestamp" desc limit 10`,
      )
      expect(rows).toHaveLength(10)
      expect(r.json.events.map((e: { timestamp: string; extra_info: { attempt: number; backoff_s: number } }) => ({ ts: micro(e.timestamp), attempt: e.extra_info.attempt, backoff: e.extra_info.backoff_s }))).toEqual(rows)
    })

    it('KissBot: subscription failures of the last day by channel, topic and error', async () => {
      const r = await t.call(`/api/v1/audit/stats?operation_type=eventsub_create_failed&start_date=${since(24 * HOUR)}&group_by=extra.channel_id,extra.topic,extra.error`, { key: 'read' })
      const rows = await sql<{ channel_id: string; topic: string; error: string; count: number }>(
        `select extra_info ->> 'channel_id' as channel_id, extra_info ->> 'topic' as topic, extra_info ->> 'error' as error, count(*)::int as count
         from public.audit_events where operation_type = 'eventsub_create_failed' and "timestamp" >= $1
         group by 1, 2, 3 order by 4 desc, 1, 2, 3`,
        [since(24 * HOUR)],
      )
      expect(rows.length).toBeGreaterThan(3)
      expect(r.json.groups).toEqual(rows.map(({ count, ...values }) => ({ values, count })))
    })

    it("Callastar: errors and criticals of a range, creators' included", async () => {
      const [a, b] = [since(40 * HOUR), since(10 * HOUR)]
      const r = await t.call(`/api/v1/audit/events?severity=error,critical&start_date=${a}&end_date=${b}&limit=1000`, { key: 'read' })
      const rows = await sql<{ id: string; ts: string; actor_type: string }>(
        `select id, ${TS} as ts, actor_type from public.audit_events
         where severity in ('error', 'critical') and "timestamp" between $1 and $2 order by "timestamp" desc, id desc`,
        [a, b],
      )
      expect(rows.some((x) => x.actor_type === 'creator')).toBe(true)
      expect(r.json.events.map((e: { id: string; timestamp: string; actor_type: string }) => ({ id: e.id, ts: micro(e.timestamp), actor_type: e.actor_type }))).toEqual(rows)
      const creators = await t.call(`/api/v1/audit/events?severity=error,critical&actor_type=creator&start_date=${a}&end_date=${b}&limit=1000`, { key: 'read' })
      expect(creators.json.total).toBe(rows.filter((x) => x.actor_type === 'creator').length)
    })

    it("an event's own timestamp, microseconds and all, as both bounds finds it", async () => {
      const [row] = await sql<{ id: string; ts: string }>(`select id, ${TS} as ts from public.audit_events order by id limit 1`)
      const r = await t.call(`/api/v1/audit/events?start_date=${row!.ts}&end_date=${row!.ts}`, { key: 'read' })
      expect(r.json.events.map((e: { id: string; timestamp: string }) => [e.id, e.timestamp])).toEqual([[row!.id, row!.ts]])
      const csv = await t.call(`/api/v1/audit/events/export?format=csv&start_date=${row!.ts}&end_date=${row!.ts}`, { key: 'read' })
      expect(csv.text).toContain(`"${row!.ts}"`)
    })

    it('a prefix filter is an index range (EXPLAIN, with sequential scans priced out)', async () => {
      const [w] = await sql<{ w: string }>(`select audit_private.audit_events_where('{"operation_type": ["token_*"]}') as w`)
      const lines = (await noSeqScan<{ 'QUERY PLAN': string }>(`explain select * from public.audit_events where ${w!.w}`))
        .map((x) => x['QUERY PLAN'])
        .join('\n')
      // partitioned (pg_partman), each partition's copy of the index, named for its partition and columns
      expect(lines, lines).toMatch(/audit_events_(operation_type_pattern_idx|(p\w+|default)_operation_type_timestamp_idx)/)
      expect(lines).toMatch(/Index Cond: \(\(\(?operation_type\)?::text ~>=~ 'token_'::text\) AND \(\(?operation_type\)?::text ~<~ 'token`'::text\)\)/)
    })

    it('a q of three characters or more is a bitmap scan of the trigram index (EXPLAIN, with sequential scans priced out)', async () => {
      const [w] = await sql<{ w: string }>(`select audit_private.audit_events_where('{"q": "ws_Reconnect"}') as w`)
      const lines = (await noSeqScan<{ 'QUERY PLAN': string }>(`explain select * from public.audit_events where ${w!.w}`))
        .map((x) => x['QUERY PLAN'])
        .join('\n')
      // partitioned: each partition's copy of the index is named for its partition and `expr`
      expect(lines, lines).toMatch(/Bitmap Index Scan on audit_events_(search_trgm_idx|(p\w+|default)_expr_idx)/)
      expect(lines).toMatch(/Index Cond: .* ~~\* '%ws\\_Reconnect%'::text\)/)
      const r = await t.call('/api/v1/audit/events?q=ws_Reconnect&limit=1000', { key: 'read' })
      expect(r.json.total).toBe(seedEvents().filter((e) => e.operation_type === 'eventsub_ws_reconnect').length)
    })
  })
}
