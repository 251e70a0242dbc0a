/**
 * Ingest with and without the hourly counts' triggers: `writers` postgres
 * stores' COPY batches at once, every event in the current hour (the rows
 * the triggers upsert are the same for every writer). Rounds alternate
 * on/off on one database. With VACUUM_EVERY_MS, the count tables (by combination and by column) are
 * vacuumed that often while it runs (what autovacuum does where it is on;
 * the hot rows leave a dead version per statement).
 *
 *   VACUUM_EVERY_MS=10000 npx tsx bench/rollup-ingest.ts postgres://postgres@127.0.0.1:5432/<migrated db> [events] [writers] [batch]
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { EventRow } from '@audit/core'
import { openPostgresStore } from '@audit/core/postgres'

const [url = '', events = '200000', writers = '4', batch = '1000'] = process.argv.slice(2)
const N = Number(events)
const W = Number(writers)
const B = Number(batch)
const OPS = ['stock_price_download', 'scan_process', 'config_update', 'user_login', 'report_export', 'api_key_rotate']
const SOURCES = ['api-service', 'frontend', 'worker', 'system']

function rows(n: number, seed: number): EventRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = seed + k
    return {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      source: SOURCES[i % 4],
      operation_type: OPS[(i * 7) % 6],
      result: i % 20 === 0 ? 'failure' : i % 50 === 1 ? 'warning' : 'success',
      severity: i % 20 === 0 ? 'error' : i % 50 === 1 ? 'warning' : 'info',
      tenant_id: `tenant-${i % 20}`,
      operator: `user${i % 1000}@example.com`,
      message: `Processed request ${i}`,
      extra_info: { symbol: 'AAPL', records_count: i % 500 },
    } as EventRow
  })
}

const admin = new pg.Client({ connectionString: url })
await admin.connect()
const TRIGGER = process.env.TRIGGER ?? 'audit_events_volume_insert'
const every = Number(process.env.VACUUM_EVERY_MS ?? 0)
const vacuumer = new pg.Client({ connectionString: url })
await vacuumer.connect()
// the count tables there are (by combination, and by column where kept)
const { rows: counts } = await vacuumer.query<{ t: string }>("select 'audit_private.' || tablename as t from pg_tables where schemaname = 'audit_private' and tablename like 'event\\_counts%' order by 1")
const tables = counts.map((r) => r.t).join(', ')
let vacuuming = Promise.resolve()
const vacuum = () => {
  vacuuming = vacuuming.then(async () => {
    await vacuumer.query(`vacuum ${tables}`)
  })
}
const timer = every > 0 ? setInterval(vacuum, every) : undefined
const stores = await Promise.all(Array.from({ length: W }, () => openPostgresStore({ databaseUrl: url })))
async function round(on: boolean): Promise<number> {
  await admin.query(`alter table public.audit_events ${on ? 'enable' : 'disable'} trigger ${TRIGGER}`)
  const t0 = performance.now()
  await Promise.all(
    stores.map(async (s, w) => {
      for (let done = w * B; done < N; done += W * B) await s.insertEvents(rows(Math.min(B, N - done), done))
    }),
  )
  return N / ((performance.now() - t0) / 1000)
}
const result: { on: number[]; off: number[] } = { on: [], off: [] }
await round(true) // warm-up
for (let r = 0; r < 3; r++) for (const on of [true, false]) result[on ? 'on' : 'off'].push(await round(on))
await admin.query(`alter table public.audit_events enable trigger ${TRIGGER}`)
clearInterval(timer)
await vacuuming
await vacuumer.end()
const best = (xs: number[]) => Math.max(...xs)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(JSON.stringify({ trigger: TRIGGER, vacuum_every_ms: every, events: N, writers: W, batch: B, on: result.on.map(Math.round), off: result.off.map(Math.round), ratio_median: median(result.on) / median(result.off), ratio_best: best(result.on) / best(result.off) }))
for (const s of stores) await s.close()
await admin.end()
