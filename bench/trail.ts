/**
 * The trail's cost and its check, on the Postgres server:
 * 1. ingest with the chain on against the same COPY with the chain's
 *    trigger disabled (the plain COPY baseline), rounds interleaved in one
 *    run: 1000-event batches through the postgres store, as the API writes;
 * 2. `audit-events verify --database-url` on an untouched trail of
 *    BENCH_TRAIL_ROWS events (default 1,000,000).
 * Run: npx tsx --conditions=@audit/source bench/trail.ts
 */
import { openPostgresStore } from '@audit/core/postgres'
import { seedEvents } from '@audit/core/testing'
import { main } from '../packages/audit-core/src/cli.ts'
import { createDatabase, fmt } from './lib.ts'

const BATCH = 1000
const ROUND = 100_000
const ROUNDS = 3
const TOTAL = Number(process.env.BENCH_TRAIL_ROWS ?? 1_000_000)

const on = await createDatabase('trail_on')
const off = await createDatabase('trail_off')
await off.sql.unsafe('alter table public.audit_events disable trigger audit_events_trail_insert')
const stores = { on: await openPostgresStore({ databaseUrl: on.url }), off: await openPostgresStore({ databaseUrl: off.url }) }

let seed = 1
async function round(store: typeof stores.on, rows: number): Promise<number> {
  const batches = Array.from({ length: rows / BATCH }, () => seedEvents(BATCH, { seed: seed++, days: 30 }))
  const t0 = performance.now()
  // two writers, as the store's write pool has
  let next = 0
  await Promise.all([0, 1].map(async () => {
    while (next < batches.length) await store.insertEvents(batches[next++]!)
  }))
  return rows / ((performance.now() - t0) / 1000)
}

const rates = { on: [] as number[], off: [] as number[] }
for (let r = 0; r < ROUNDS; r++) {
  rates.off.push(await round(stores.off, ROUND))
  rates.on.push(await round(stores.on, ROUND))
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`ingest, ${ROUNDS} interleaved rounds of ${fmt(ROUND)} events in ${BATCH}-event COPY batches, 2 writers:`)
console.log(`  chain off (plain COPY): ${rates.off.map(fmt).join(', ')} events/s (median ${fmt(med(rates.off))})`)
console.log(`  chain on:               ${rates.on.map(fmt).join(', ')} events/s (median ${fmt(med(rates.on))})`)
console.log(`  ratio on/off: ${(med(rates.on) / med(rates.off)).toFixed(2)}`)

await stores.off.close()
await off.drop()
for (let done = ROUND * ROUNDS; done < TOTAL; done += ROUND) await round(stores.on, Math.min(ROUND, TOTAL - done))
await stores.on.close()
await on.sql.unsafe('vacuum analyze public.audit_events')
const t0 = performance.now()
const code = await main(['verify', '--database-url', on.url])
console.log(`verify of ${fmt(TOTAL)} events: exit ${code}, ${fmt((performance.now() - t0) / 1000)} s wall`)
await on.drop()
