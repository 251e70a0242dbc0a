/**
 * /stats from the hourly counts (audit_private.event_counts) is the exact
 * count: after inserts, a re-sent batch, deletes through retention's
 * function and erasures, audit_stats for random filters and ranges (bounds
 * anywhere inside an hour, on it, or in one hour) equals the same counts
 * made by `count(*) … group by` on the events; and the rollup equals a
 * fresh group-by of the table, also after writers that insert and delete
 * at once (on a Postgres server). The same for the counts by column
 * (audit_private.event_counts_by, _by_daily) that answer the range alone,
 * with bounds on an event, inside an hour, on it, at its last microsecond,
 * on a day, empty ranges and ranges with no event. On PGlite, and on the postgres store (the
 * server with TEST_DATABASE_URL, else PGlite over the wire).
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deleteInChunks, type AuditStore, type EventFilters, type EventRow, type EventStats } from '@audit/core'
import { createTestDatabase, mulberry32, storeEngines, type TestDatabase } from '@audit/core/testing'

const NOW = Date.parse('2026-11-20T12:00:00.000Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

const VALUES = {
  result: ['success', 'failure', 'warning'],
  severity: ['debug', 'info', 'warning', 'error', 'critical'],
  source: ['api', 'web', 'worker', 'cron'],
  operation_type: ['user_login', 'user_logout', 'config_update', 'report_export', 'key_rotate'],
  tenant_id: ['t1', 't2', 't3', null],
} as const
type Field = keyof typeof VALUES
const FIELDS = Object.keys(VALUES) as Field[]

/** A time with microseconds: `ms` plus `micros` (0–999) thousandths of a millisecond. */
const iso = (ms: number, micros: number) => new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`)

function makeEvents(n: number, seed: number): EventRow[] {
  const rnd = mulberry32(seed)
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T
  return Array.from({ length: n }, (_, i) => {
    const at = NOW - Math.floor(rnd() * 10 * DAY)
    // one in twenty exactly on an hour, where a bound may fall too
    const ts = i % 20 === 0 ? iso(at - (at % HOUR), 0) : iso(at, Math.floor(rnd() * 1000))
    return {
      id: randomUUID(),
      timestamp: ts,
      result: pick(VALUES.result),
      severity: pick(VALUES.severity),
      source: pick(VALUES.source),
      operation_type: pick(VALUES.operation_type),
      tenant_id: pick(VALUES.tenant_id),
      operator: pick(['alice', 'bob', null]),
      message: `event ${i}`,
    }
  })
}

interface Case {
  filters: Record<string, unknown>
  bucket: 'hour' | 'day'
  where: string
  params: unknown[]
}

/** A random filter object, and the same question as plain SQL (written here, not by the WHERE builder). */
function makeCase(rnd: () => number, times: readonly string[]): Case {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T
  const filters: Record<string, unknown> = {}
  const not: Record<string, unknown> = {}
  const where: string[] = ['true']
  const params: unknown[] = []
  const p = (v: unknown) => `$${params.push(v)}`
  for (const f of FIELDS) {
    const values = VALUES[f].filter((v) => v !== null) as string[]
    const r = rnd()
    if (r < 0.2) {
      const one = pick(values)
      if (f === 'operation_type' && rnd() < 0.4) {
        filters[f] = 'user_*'
        where.push(`operation_type like 'user\\_%'`)
      } else if (rnd() < 0.5) {
        filters[f] = one
        where.push(`${f} = ${p(one)}`)
      } else {
        const two = [one, pick(values)]
        filters[f] = two
        where.push(`${f} = any(${p(two)}::text[])`)
      }
    } else if (r < 0.32) {
      const one = pick(values)
      not[f] = one
      // an exclusion keeps the events whose column is null
      where.push(`(${f} is null or ${f} <> ${p(one)})`)
    }
  }
  if (Object.keys(not).length > 0) filters.not = not
  // bounds: inside an hour, on one, just before one, on an event, or none
  const bound = () => {
    const at = NOW - Math.floor(rnd() * 11 * DAY) + DAY / 2
    const k = rnd()
    if (k < 0.3) return pick(times)
    if (k < 0.42) return iso(at - (at % HOUR), 0)
    if (k < 0.5) return new Date(at - (at % HOUR) - 1).toISOString().replace('Z', '999Z')
    return iso(at, Math.floor(rnd() * 1000))
  }
  let start = rnd() < 0.85 ? bound() : undefined
  let end = rnd() < 0.6 ? bound() : undefined
  if (start && end && start > end && rnd() < 0.8) [start, end] = [end, start]
  if (start && rnd() < 0.1) end = iso(Date.parse(start) + Math.floor(rnd() * HOUR), 0) // often in one hour
  if (start) {
    filters.start_date = start
    where.push(`"timestamp" >= ${p(start)}::timestamptz`)
  }
  if (end) {
    filters.end_date = end
    where.push(`"timestamp" <= ${p(end)}::timestamptz`)
  }
  // now and then a filter the rollup cannot answer: counted from the events as before
  const other = rnd()
  if (other < 0.06) {
    filters.operator = 'alice'
    where.push(`operator = 'alice'`)
  } else if (other < 0.1) {
    filters.q = 'event 1'
    where.push(`(message ilike '%event 1%' or operation_type ilike '%event 1%' or operator ilike '%event 1%')`)
  }
  return { filters, bucket: rnd() < 0.5 ? 'hour' : 'day', where: where.join(' and '), params }
}

type Sql = <T>(text: string, params?: unknown[]) => Promise<T[]>

async function expected(sql: Sql, c: Case): Promise<EventStats> {
  const facet = async (col: string) =>
    Object.fromEntries(
      (await sql<{ k: string; n: string }>(`select ${col} as k, count(*) as n from public.audit_events where ${c.where} group by 1`, c.params)).map((r) => [r.k, Number(r.n)]),
    )
  const [total] = await sql<{ n: string }>(`select count(*) as n from public.audit_events where ${c.where}`, c.params)
  const points = await sql<{ start: string; success: string; failure: string; warning: string }>(
    `select to_char(date_trunc('${c.bucket}', "timestamp" at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as start,
            count(*) filter (where result = 'success') as success,
            count(*) filter (where result = 'failure') as failure,
            count(*) filter (where result = 'warning') as warning
     from public.audit_events where ${c.where} group by 1 order by 1`,
    c.params,
  )
  return {
    total: Number(total!.n),
    by_result: await facet('result'),
    by_operation_type: await facet('operation_type'),
    by_source: await facet('source'),
    by_severity: await facet('severity'),
    histogram: { bucket: c.bucket, points: points.map((r) => ({ start: r.start, success: Number(r.success), failure: Number(r.failure), warning: Number(r.warning) })) },
  }
}

/** A filter of the range alone (what the page asks most), and the same question as plain SQL. */
function makeRangeCase(rnd: () => number, times: readonly string[]): Case {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T
  const params: unknown[] = []
  const where: string[] = ['true']
  const p = (v: unknown) => `$${params.push(v)}`
  // bounds: on an event, inside an hour, on one, at its last microsecond, on a day or just before it, or where no event is
  const bound = () => {
    const at = NOW - Math.floor(rnd() * 11 * DAY) + DAY / 2
    const k = rnd()
    if (k < 0.2) return pick(times)
    if (k < 0.4) return iso(at, Math.floor(rnd() * 1000))
    if (k < 0.55) return iso(at - (at % HOUR), 0)
    if (k < 0.7) return new Date(at - (at % HOUR) - 1).toISOString().replace('Z', '999Z')
    if (k < 0.8) return iso(at - (at % DAY), 0)
    if (k < 0.88) return new Date(at - (at % DAY) - 1).toISOString().replace('Z', '999Z')
    return rnd() < 0.5 ? iso(NOW + 40 * DAY + Math.floor(rnd() * DAY), 0) : iso(NOW - 60 * DAY - Math.floor(rnd() * DAY), 0)
  }
  let start = rnd() < 0.9 ? bound() : undefined
  let end = rnd() < 0.8 ? bound() : undefined
  const k = rnd()
  if (start && end && start > end && k < 0.85) [start, end] = [end, start] // else empty: end before start
  if (start && k > 0.93) end = start // one instant
  else if (start && k > 0.85) end = iso(Date.parse(start) + Math.floor(rnd() * 3 * HOUR), 0) // a few hours
  const filters: Record<string, unknown> = {}
  if (start) {
    filters.start_date = start
    where.push(`"timestamp" >= ${p(start)}::timestamptz`)
  }
  if (end) {
    filters.end_date = end
    where.push(`"timestamp" <= ${p(end)}::timestamptz`)
  }
  // keys that filter nothing
  const none = rnd()
  if (none < 0.1) filters.q = ''
  else if (none < 0.15) filters.not = {}
  else if (none < 0.2) filters.result = null
  return { filters, bucket: rnd() < 0.5 ? 'hour' : 'day', where: where.join(' and '), params }
}

/** Rows where the hourly or daily counts and a fresh group-by of the events differ (none when they are exact). */
const ROLLUP_DIFF = [
  ...['hour', 'day'].map((unit) => {
    const table = unit === 'hour' ? 'event_counts' : 'event_counts_daily'
    return `(with fresh as (
      select date_trunc('${unit}', "timestamp", 'UTC') as at, result, severity, source, operation_type, tenant_id, count(*) as n
      from public.audit_events group by 1, 2, 3, 4, 5, 6),
    kept as (select ${unit} as at, result, severity, source, operation_type, tenant_id, n from audit_private.${table})
    select '${unit} counted' as side, to_jsonb(a) as row from (select * from fresh except all select * from kept) a
    union all
    select '${unit} kept', to_jsonb(b) from (select * from kept except all select * from fresh) b)`
  }),
  // the counts by column: each of the four columns' values an hour or a day
  ...['hour', 'day'].map((unit) => {
    const table = unit === 'hour' ? 'event_counts_by' : 'event_counts_by_daily'
    return `(with fresh as (
      select v.dim, date_trunc('${unit}', e."timestamp", 'UTC') as at, v.value, count(*) as n
      from public.audit_events e
      cross join lateral (values ('result', e.result::text), ('severity', e.severity::text), ('source', e.source::text), ('operation_type', e.operation_type::text)) v(dim, value)
      group by 1, 2, 3),
    kept as (select dim, ${unit} as at, value, n from audit_private.${table})
    select '${unit} by column counted' as side, to_jsonb(a) as row from (select * from fresh except all select * from kept) a
    union all
    select '${unit} by column kept', to_jsonb(b) from (select * from kept except all select * from fresh) b)`
  }),
].join(' union all ')

for (const [engine, open] of storeEngines()) {
  describe(`/stats from the hourly counts equals count(*): ${engine}`, () => {
    let store: AuditStore
    let done: () => Promise<void>
    let sql: Sql
    let times: string[] = []
    beforeAll(async () => {
      const o = await open()
      store = o.store
      done = o.done
      const s = store as AuditStore & { db?: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> }; pools?: { read: { query: (t: string, p?: unknown[]) => Promise<{ rows: unknown[] }> } } }
      const q = s.db ?? s.pools?.read
      if (!q) throw new Error('no SQL handle')
      sql = async <T,>(text: string, params: unknown[] = []) => (await q.query(text, params)).rows as T[]
      const events = makeEvents(4000, 7)
      times = events.map((e) => e.timestamp)
      for (let i = 0; i < events.length; i += 500) await store.insertEvents(events.slice(i, i + 500))
      // a batch sent again writes nothing, and counts nothing twice
      expect(await store.insertEvents(events.slice(0, 500))).toBe(0)
      // retention's path (audit_delete_events, in chunks) and a purge with a filter
      const cut = new Date(NOW - 9 * DAY - HOUR / 3).toISOString()
      expect(await deleteInChunks(store, { end_date: cut }, 97, 'retention')).toBeGreaterThan(300)
      expect(await store.deleteEvents({ source: ['cron'], tenant_id: ['t2'] }, 100_000, 'purge')).toBeGreaterThan(20)
      // erasure changes no counted column
      for (const e of events.slice(3000, 3005)) await store.trail!.eraseEvent(e.id, ['operator', 'message'], 'erasure request')
    }, 120_000)
    afterAll(async () => {
      await store.close()
      await done()
    })

    it('the rollup equals a fresh group-by of the table', async () => {
      expect(await sql(ROLLUP_DIFF)).toEqual([])
      const [r] = await sql<{ rows: string; sum: string }>('select count(*) as rows, sum(n) as sum from audit_private.event_counts')
      const [t] = await sql<{ n: string }>('select count(*) as n from public.audit_events')
      expect(Number(r!.sum)).toBe(Number(t!.n))
      expect(Number(r!.rows)).toBeGreaterThan(1000)
      // every event once in each column's counts
      const by = await sql<{ dim: string; sum: string }>('select dim, sum(n) as sum from audit_private.event_counts_by group by 1 order by 1')
      expect(by.map((b) => [b.dim, Number(b.sum)])).toEqual(['operation_type', 'result', 'severity', 'source'].map((d) => [d, Number(t!.n)]))
    })

    it('audit_stats equals count(*) … group by for 80 random filters and ranges', async () => {
      const rnd = mulberry32(2026)
      let fromRollup = 0
      for (let i = 0; i < 80; i++) {
        const c = makeCase(rnd, times)
        const [got] = await sql<{ s: EventStats }>('select public.audit_stats($1::jsonb, $2, null) as s', [JSON.stringify(c.filters), c.bucket])
        expect(got!.s, JSON.stringify(c)).toEqual(await expected(sql, c))
        const [covers] = await sql<{ ok: boolean }>('select audit_private.rollup_covers($1::jsonb) as ok', [JSON.stringify(c.filters)])
        if (covers!.ok) fromRollup++
      }
      // most of them take the rollup's path, a few the events'
      expect(fromRollup).toBeGreaterThan(60)
      expect(fromRollup).toBeLessThan(80)
    }, 60_000)

    it('audit_stats of the range alone equals count(*) … group by for 150 random ranges', async () => {
      const rnd = mulberry32(4711)
      let rangeOnly = 0
      for (let i = 0; i < 150; i++) {
        const c = makeRangeCase(rnd, times)
        const [got] = await sql<{ s: EventStats; text: string }>('select public.audit_stats($1::jsonb, $2, null) as s', [JSON.stringify(c.filters), c.bucket])
        expect(got!.s, JSON.stringify(c)).toEqual(await expected(sql, c))
        const [only] = await sql<{ ok: boolean }>('select audit_private.rollup_range_only($1::jsonb) as ok', [JSON.stringify(c.filters)])
        if (only!.ok) rangeOnly++
      }
      expect(rangeOnly).toBe(150)
      // a facet's filter, a `not` with a column, a q: not the range alone
      for (const f of [{ result: 'success' }, { not: { result: ['success'] } }, { q: 'x' }, { operator: 'alice' }, { tenant_id: ['t1'] }]) {
        const [only] = await sql<{ ok: boolean }>('select audit_private.rollup_range_only($1::jsonb) as ok', [JSON.stringify(f)])
        expect(only!.ok, JSON.stringify(f)).toBe(false)
      }
    }, 60_000)

    it("the page's own questions: the range alone, and every filter of a facet", async () => {
      const start = new Date(NOW - 7 * DAY + 12_345).toISOString()
      for (const filters of [{ start_date: start }, { start_date: start, result: ['failure'] }, { start_date: start, not: { tenant_id: ['t1'] } }, {}] as EventFilters[]) {
        const [covers] = await sql<{ ok: boolean }>('select audit_private.rollup_covers($1::jsonb) as ok', [JSON.stringify(filters)])
        expect(covers!.ok).toBe(true)
        const got = await store.stats({ filters, bucket: 'day' })
        const where = ['true', ...('start_date' in filters ? [`"timestamp" >= '${start}'`] : []), ...('result' in filters ? [`result = 'failure'`] : []), ...('not' in filters ? [`tenant_id is distinct from 't1'`] : [])]
        expect(got).toEqual(await expected(sql, { filters: { ...filters }, bucket: 'day', where: where.join(' and '), params: [] }))
      }
    })

    it('rollup_add adds and subtracts the rows of a table', async () => {
      await sql(`create table public.rollup_probe as select * from public.audit_events where source = 'api'`)
      try {
        await sql('select audit_private.rollup_add($1, 1)', ['public.rollup_probe'])
        expect((await sql(ROLLUP_DIFF)).length).toBeGreaterThan(0)
        await sql('select audit_private.rollup_add($1, -1)', ['public.rollup_probe'])
        expect(await sql(ROLLUP_DIFF)).toEqual([])
      } finally {
        await sql('drop table public.rollup_probe')
      }
    })
  })
}

describe.runIf(process.env.TEST_DATABASE_URL)('writers at once on a Postgres server: no deadlock, and the rollup stays exact', () => {
  let db: TestDatabase
  let pool: pg.Pool
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true })
    pool = new pg.Pool({ connectionString: db.url, max: 10 })
    // a connection still closing when the database is dropped hears the server end it
    pool.on('error', () => {})
  })
  afterAll(async () => {
    await pool.end()
    await db.drop()
  })

  it('8 writers inserting and deleting over the same hours and facets', async () => {
    const insert = `insert into public.audit_events (id, "timestamp", source, operation_type, result, severity, tenant_id)
      select (r->>'id')::uuid, (r->>'timestamp')::timestamptz, r->>'source', r->>'operation_type', r->>'result', r->>'severity', r->>'tenant_id'
      from jsonb_array_elements($1::jsonb) r`
    const writer = async (w: number) => {
      for (let b = 0; b < 8; b++) {
        // the batch in random order over 6 hours: the same rollup rows as the other writers, met in another order
        const rows = makeEvents(150, w * 100 + b).map((e, i) => ({ ...e, timestamp: iso(NOW - (i % 6) * HOUR - ((w * 7919 + b * 104729 + i * 15485863) % HOUR), i % 1000) }))
        await pool.query(insert, [JSON.stringify(rows)])
        if (b % 3 === 2) {
          const c = await pool.connect()
          try {
            await c.query('begin')
            await c.query("set local audit.allow_delete = 'on'")
            await c.query('delete from public.audit_events where id = any($1::uuid[])', [rows.slice(0, 40).map((r) => r.id)])
            await c.query('commit')
          } finally {
            c.release()
          }
        }
      }
    }
    // rollup_add by itself too (no trail lock before it): the same keys added and taken away again, by 4 transactions at once
    await pool.query(`create table public.rollup_stage as select * from public.audit_events where false`)
    await pool.query(insert.replace('public.audit_events', 'public.rollup_stage'), [JSON.stringify(makeEvents(2000, 99).map((e, i) => ({ ...e, timestamp: iso(NOW - (i % 6) * HOUR, 0) })))])
    const adder = async () => {
      for (let k = 0; k < 6; k++) {
        const c = await pool.connect()
        try {
          await c.query('begin')
          // another order of the same rows each time
          await c.query(`create temp table s on commit drop as select * from public.rollup_stage order by random()`)
          await c.query('select audit_private.rollup_add($1, 1)', ['pg_temp.s'])
          await c.query('select audit_private.rollup_add($1, -1)', ['pg_temp.s'])
          await c.query('commit')
        } finally {
          c.release()
        }
      }
    }
    await Promise.all([...Array.from({ length: 8 }, (_, w) => writer(w)), adder(), adder(), adder(), adder()])
    await pool.query('drop table public.rollup_stage')
    const { rows } = await pool.query(ROLLUP_DIFF)
    expect(rows).toEqual([])
    const { rows: n } = await pool.query('select (select sum(n) from audit_private.event_counts) as kept, (select count(*) from public.audit_events) as counted')
    expect(Number(n[0].kept)).toBe(Number(n[0].counted))
    expect(Number(n[0].counted)).toBe(8 * 8 * 150 - 8 * 2 * 40)
  }, 60_000)
})
