/**
 * HTTP ingest: batches of 500 POSTed by concurrent clients to the server
 * process on Postgres, answered 201 once committed (the default), and the
 * same with `Prefer: respond-async` (202 once queued) in the same run.
 */
import { createDatabase, percentile, postEvents, report, startApiServer } from './lib.ts'

const PER = 500

function bodies(events: number): string[] {
  const out: string[] = []
  for (let i = 0; i < events; i += PER) {
    out.push(
      JSON.stringify({
        events: Array.from({ length: Math.min(PER, events - i) }, (_, j) => ({
          source: 'api-service',
          operation_type: 'stock_price_download',
          result: 'success',
          operator: `user${(i + j) % 500}@example.com`,
          message: `Successfully downloaded data for AAPL #${i + j}`,
          extra_info: { symbol: 'AAPL', records_count: 100 },
        })),
      }),
    )
  }
  return out
}

/** events/s until every row is in the table, and the latency of each request (503s resent after Retry-After). */
async function run(events: number, batchSize: number, clients: number, respondAsync: boolean) {
  const db = await createDatabase(respondAsync ? 'http_async' : 'http')
  const server = await startApiServer({
    AUDIT_STORE: 'postgres',
    DATABASE_URL: db.url,
    AUDIT_BATCH_SIZE: String(batchSize),
    AUDIT_LOGGING_QUEUE_SIZE: '20000',
  })
  try {
    const all = bodies(events)
    const latencies: number[] = []
    const expect = respondAsync ? 202 : 201
    let busy = 0
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < all.length) busy += await postEvents(server, all[next++] as string, latencies, { expect, respondAsync })
      }),
    )
    // 202 is not written: the rate counts until every row is in the table (201 already is)
    for (;;) {
      const [r] = await db.sql<{ n: number }[]>`select count(*)::int as n from public.audit_events`
      if ((r?.n ?? 0) >= events) break
      await new Promise((res) => setTimeout(res, 20))
    }
    const rate = events / ((performance.now() - t0) / 1000)
    return { rate, latencies, busy }
  } finally {
    await server.stop()
    await db.drop()
  }
}

export async function httpIngest(events: number, batchSize: number, libraryRate: number, clients = 4) {
  const committed = await run(events, batchSize, clients, false)
  const queued = await run(events, batchSize, clients, true)
  const n = events.toLocaleString('en-US')
  report({ scenario: 'http', measure: `POST batches of ${PER}, ${clients} clients, 201 once committed, ${n} events`, value: committed.rate, unit: 'events/s', ...(libraryRate > 0 ? { baseline: 'library (same batch size)', baselineValue: libraryRate } : {}) })
  report({ scenario: 'http', measure: `201 latency p50 (${committed.latencies.length} requests, ${committed.busy} answered 503 and resent)`, value: percentile(committed.latencies, 50), unit: 'ms' })
  report({ scenario: 'http', measure: '201 latency p99', value: percentile(committed.latencies, 99), unit: 'ms' })
  report({ scenario: 'http', measure: `the same with Prefer: respond-async (202 once queued), until all are written`, value: queued.rate, unit: 'events/s' })
  report({ scenario: 'http', measure: '201 once committed against 202 once queued', value: committed.rate, unit: 'events/s', baseline: 'respond-async', baselineValue: queued.rate })
  report({ scenario: 'http', measure: `202 latency p50 (${queued.latencies.length} requests, ${queued.busy} answered 503 and resent)`, value: percentile(queued.latencies, 50), unit: 'ms' })
  report({ scenario: 'http', measure: '202 latency p99', value: percentile(queued.latencies, 99), unit: 'ms' })
}
