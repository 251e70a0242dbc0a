/**
 * Ingest through one API replica against three on the same database, in the
 * same run: three server processes (plain node on the build) on one fresh
 * database, the same number of concurrent clients POSTing batches of 500
 * (201 once committed), first all to one replica, then spread over three;
 * repeated, alternating, so neither order nor a warm cache favours one.
 *
 *   npx -y pnpm@10.34.9 --filter "@audit/api..." build
 *   npx tsx --conditions=@audit/source bench/replicas.ts [--events 100000] [--clients 6] [--rounds 2]
 *
 * Needs the local Postgres server (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). Prints the figures; writes nothing.
 */
import os from 'node:os'
import { createDatabase, fmt, percentile, postEvents, startApiServer, type ApiServer } from './lib.ts'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] as string) : fallback
}
const EVENTS = Number(arg('events', '100000'))
const CLIENTS = Number(arg('clients', '6'))
const ROUNDS = Number(arg('rounds', '2'))
const PER = 500

let seq = 0
function bodies(events: number): string[] {
  const out: string[] = []
  for (let i = 0; i < events; i += PER) {
    out.push(
      JSON.stringify({
        events: Array.from({ length: Math.min(PER, events - i) }, () => {
          const n = seq++
          return {
            source: 'api-service',
            operation_type: 'stock_price_download',
            result: 'success',
            operator: `user${n % 500}@example.com`,
            message: `Successfully downloaded data for AAPL #${n}`,
            extra_info: { symbol: 'AAPL', records_count: 100 },
          }
        }),
      }),
    )
  }
  return out
}

/** events/s of `events` POSTed by CLIENTS clients, client c to replica c mod `through.length`; 503s resent after Retry-After. */
async function run(through: ApiServer[], events: number): Promise<{ rate: number; p50: number; p99: number; busy: number }> {
  const all = bodies(events)
  const latencies: number[] = []
  let busy = 0
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const server = through[c % through.length] as ApiServer
      while (next < all.length) busy += await postEvents(server, all[next++] as string, latencies)
    }),
  )
  const rate = events / ((performance.now() - t0) / 1000)
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), busy }
}

async function main() {
  console.log(`node ${process.version}, ${os.cpus().length} cores; ${fmt(EVENTS)} events per run, ${CLIENTS} clients, batches of ${PER}, ${ROUNDS} rounds`)
  const db = await createDatabase('replicas')
  const env = { AUDIT_STORE: 'postgres', DATABASE_URL: db.url, AUDIT_BATCH_SIZE: String(PER), AUDIT_LOGGING_QUEUE_SIZE: '20000' }
  const servers: ApiServer[] = []
  try {
    for (let i = 0; i < 3; i++) servers.push(await startApiServer(env))
    await run(servers, 10_000) // warm-up: connections, JIT
    const figures: Record<'1' | '3', number[]> = { '1': [], '3': [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const n of [1, 3] as const) {
        const f = await run(servers.slice(0, n), EVENTS)
        figures[n].push(f.rate)
        console.log(`round ${r + 1}, ${n} replica${n > 1 ? 's' : ' '}: ${fmt(f.rate)} events/s (request p50 ${fmt(f.p50)} ms, p99 ${fmt(f.p99)} ms, ${f.busy} answered 503 and resent)`)
      }
    }
    const median = (xs: number[]) => percentile(xs, 50)
    const [one, three] = [median(figures['1']), median(figures['3'])]
    console.log(`\n1 replica: ${fmt(one)} events/s; 3 replicas: ${fmt(three)} events/s (${(three / one).toFixed(2)}×)`)
    const [{ n } = { n: 0 }] = await db.sql<{ n: number }[]>`select count(*)::int as n from public.audit_events`
    console.log(`${fmt(n)} rows in the table (${fmt(10_000 + 2 * ROUNDS * EVENTS)} sent)`)
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    await db.drop()
  }
}

await main()
