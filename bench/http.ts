/** HTTP ingest: batches of 500 POSTed by concurrent clients to the server process on Postgres. */
import { createDatabase, percentile, report, startApiServer } from './lib.ts'

export async function httpIngest(events: number, batchSize: number, libraryRate: number, clients = 4) {
  const db = await createDatabase('http')
  const server = await startApiServer({
    AUDIT_STORE: 'postgres',
    DATABASE_URL: db.url,
    AUDIT_BATCH_SIZE: String(batchSize),
    AUDIT_LOGGING_QUEUE_SIZE: '20000',
  })
  try {
    const PER = 500
    const bodies: string[] = []
    for (let i = 0; i < events; i += PER) {
      bodies.push(
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
    const latencies: number[] = []
    let busy = 0
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as string
          for (;;) {
            const t = performance.now()
            const res = await fetch(`${server.url}api/v1/audit/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
              body,
            })
            await res.arrayBuffer()
            latencies.push(performance.now() - t)
            if (res.status === 202) break
            if (res.status !== 503) throw new Error(`ingest answered ${res.status}`)
            busy++ // the queue is full: back off as Retry-After asks (scaled down), then resend
            await new Promise((r) => setTimeout(r, 20))
          }
        }
      }),
    )
    // accepted is not written: the rate counts until every row is in the table
    for (;;) {
      const [r] = await db.sql<{ n: number }[]>`select count(*)::int as n from public.audit_events`
      if ((r?.n ?? 0) >= events) break
      await new Promise((res) => setTimeout(res, 20))
    }
    const rate = events / ((performance.now() - t0) / 1000)
    report({ scenario: 'http', measure: `POST batches of ${PER}, ${clients} clients, ${events.toLocaleString('en-US')} events written`, value: rate, unit: 'events/s', baseline: 'library (same batch size)', baselineValue: libraryRate })
    report({ scenario: 'http', measure: `POST latency p50 (${latencies.length} requests, ${busy} answered 503 and resent)`, value: percentile(latencies, 50), unit: 'ms' })
    report({ scenario: 'http', measure: 'POST latency p99', value: percentile(latencies, 99), unit: 'ms' })
  } finally {
    await server.stop()
    await db.drop()
  }
}
