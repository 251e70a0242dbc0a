import { randomBytes } from 'node:crypto'
import { ACTOR_TYPES, RESULTS, SEVERITIES, type EventRow } from '@audit/core'

/** A small deterministic PRNG so that seeded data sets are the same every run. */
export function mulberry32(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A UUIDv7 (RFC 9562) for the time `ms`, random below it: seeded events get ids in their timestamps' order. */
export function eventIdAt(ms: number): string {
  const b = randomBytes(16)
  b.writeUIntBE(ms, 0, 6)
  b[6] = 0x70 | (b[6]! & 0x0f)
  b[8] = 0x80 | (b[8]! & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export const SEED_SOURCES = ['api-service', 'stock-data-service', 'frontend', 'background-job', 'system']
export const SEED_OPERATIONS = ['stock_price_download', 'stock_data_retrieval', 'scan_process', 'config_update', 'data_cleanup', 'cache_refresh']
export const SEED_OPERATORS = ['ana@example.com', 'bo@example.com', 'Chloe@Example.com', 'svc-ingest', null]
export const SEED_TENANTS = ['t1', 't2', null]

/**
 * `n` events spread over `days` days before `now`, with a known mix of every
 * filterable field. Timestamps are distinct milliseconds so that ordering is total.
 */
export function seedEvents(n: number, opts: { now?: number; days?: number; seed?: number } = {}): EventRow[] {
  const rnd = mulberry32(opts.seed ?? 42)
  const now = opts.now ?? Date.now()
  const span = (opts.days ?? 30) * 86_400_000
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T
  const used = new Set<number>()
  const rows: EventRow[] = []
  for (let i = 0; i < n; i++) {
    let ts = now - Math.floor(rnd() * span)
    while (used.has(ts)) ts--
    used.add(ts)
    const result = pick(RESULTS)
    const op = pick(SEED_OPERATIONS)
    const operator = pick(SEED_OPERATORS)
    rows.push({
      id: eventIdAt(ts),
      timestamp: new Date(ts).toISOString(),
      source: pick(SEED_SOURCES),
      operator,
      operation_type: op,
      result,
      message: i % 7 === 0 ? `Special 100%_done for ${op}` : `${result} of ${op} #${i}`,
      extra_info: { symbol: pick(['AAPL', 'MSFT', 'GOOG']), records_count: Math.floor(rnd() * 500), channel_id: String(44456636 + (i % 3)) },
      severity: pick(SEVERITIES),
      tenant_id: pick(SEED_TENANTS),
      actor_type: pick(ACTOR_TYPES),
      resource_type: pick(['symbol', 'scan', null]),
      resource_id: i % 5 === 0 ? `res-${i % 10}` : null,
      request_id: `req-${i % 50}`,
      ip_address: i % 4 === 0 ? '10.1.2.3' : '2001:db8::1',
      user_agent: 'seed/1.0',
    })
  }
  return rows
}
