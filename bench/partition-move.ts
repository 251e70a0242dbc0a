/**
 * What a reader waits while partition maintenance moves a backfill out of
 * the default partition: `rows` events over the `days` before now
 * (bench/scale-dataset.sql) land in the default partition of a freshly
 * partitioned table; then the move, while another connection reads the
 * default page (the newest 50) every 20 ms. Baseline, measured in the same
 * run on a second database loaded the same way: the whole move in one
 * transaction (pg_partman's partition_data_time over every day, what the
 * maintenance did before it moved a day a step). Needs pg_partman.
 *
 *   npx tsx --conditions=@audit/source bench/partition-move.ts [rows=200000] [days=40]
 */
import { maintainPartitions } from '@audit/core'
import { openPostgresStore } from '@audit/core/postgres'
import { createDatabase, datasetSql, fmt, percentile } from './lib.ts'

const [rowsArg = '200000', daysArg = '40'] = process.argv.slice(2)
const ROWS = Number(rowsArg)
const DAYS = Number(daysArg)

type Db = Awaited<ReturnType<typeof createDatabase>>

async function loaded(tag: string): Promise<Db> {
  const db = await createDatabase(tag)
  const [p] = await db.sql<{ p: { partitioned: boolean } }[]>`select public.audit_partitioning() as p`
  if (!p?.p.partitioned) throw new Error('the table is not partitioned here: this bench needs pg_partman (apt-get install -y postgresql-15-partman)')
  await db.sql.unsafe(await datasetSql(ROWS, 1, ROWS, 'bench/scale-dataset.sql', DAYS))
  await db.sql.unsafe('vacuum analyze public.audit_events')
  return db
}

/** Runs `move` while one connection reads the default page in a loop; the move's time and the reads' latencies. */
interface Measured {
  moveS: number
  /** Why the move failed, if it did. */
  moveError?: string
  reads: number[]
  /** Reads that failed, by SQLSTATE (40P01: deadlock). */
  failed: Record<string, number>
}

async function measure(db: Db, move: () => Promise<unknown>): Promise<Measured> {
  const reads: number[] = []
  const failed: Record<string, number> = {}
  let moving = true
  const reader = (async () => {
    while (moving) {
      const t = performance.now()
      try {
        await db.sql`select id from public.audit_events order by "timestamp" desc limit 50`
        reads.push(performance.now() - t)
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'other'
        failed[code] = (failed[code] ?? 0) + 1
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const t0 = performance.now()
  let moveError: string | undefined
  try {
    await move()
  } catch (e) {
    moveError = `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`.trim()
  }
  const moveS = (performance.now() - t0) / 1000
  moving = false
  await reader
  return { moveS, moveError, reads, failed }
}

const one = await loaded('move_one')
const [caught] = await one.sql<{ n: number }[]>`select count(*)::int as n from public.audit_events_default`
console.log(`${fmt(ROWS)} events over ${DAYS} days, ${fmt(caught?.n ?? 0)} in the default partition`)
const before = await measure(one, () =>
  one.sql.begin(async (tx) => {
    const [s] = await tx<{ s: string }[]>`select n.nspname as s from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman'`
    await tx`select set_config('audit.allow_delete', 'on', true)`
    await tx.unsafe(`select ${s?.s}.partition_data_time(p_parent_table => 'public.audit_events', p_batch_count => 100000, p_analyze => false)`)
  }),
)
await one.drop()

const byDay = await loaded('move_by_day')
const store = await openPostgresStore({ databaseUrl: byDay.url })
const after = await measure(byDay, () => maintainPartitions(store))
await store.close()
await byDay.drop()

const line = (name: string, m: Measured) =>
  `${name.padEnd(28)} move ${m.moveError ? `failed (${m.moveError}) after` : ''} ${fmt(m.moveS)} s, ${m.reads.length} reads: p50 ${fmt(percentile(m.reads, 50))} ms, p99 ${fmt(percentile(m.reads, 99))} ms, longest ${fmt(Math.max(...m.reads))} ms; failed reads ${JSON.stringify(m.failed)}`
console.log(line('one transaction (baseline)', before))
console.log(line('a day a step', after))
console.log(`longest read wait: ${fmt(Math.max(...after.reads) / Math.max(...before.reads))}× the baseline; move time ${fmt(after.moveS / before.moveS)}×`)
