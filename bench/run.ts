/**
 * Benchmarks: each hot path against a baseline measured in the same run.
 *
 *   pnpm bench                 # full sizes
 *   pnpm bench --events 200000 # smaller ingest
 *
 * Needs the local Postgres server (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres); a fresh database is made and dropped.
 * Writes bench/results.json and bench/results.svg.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import pino from 'pino'
import postgres from 'postgres'
import { createAuditLogger, openPgliteStore, openPostgresStore, type AuditStore, type EventRow } from '@audit/core'

const here = path.dirname(fileURLToPath(import.meta.url))
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const EVENTS = arg('events', 1_000_000)
const SINGLE = arg('single', 20_000)
const ENQUEUE = arg('enqueue', 300_000)
const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

interface Result {
  scenario: string
  measure: string
  value: number
  unit: string
  baseline?: string
  baselineValue?: number
  ratio?: number
  goal?: string
}
const results: Result[] = []
function report(r: Result) {
  if (r.baselineValue !== undefined) r.ratio = Math.round((r.value / r.baselineValue) * 100) / 100
  results.push(r)
  const ratio = r.ratio !== undefined ? `  ${r.ratio}× ${r.baseline}` : ''
  console.log(`${r.scenario.padEnd(10)} ${r.measure.padEnd(46)} ${r.value.toLocaleString('en-US', { maximumFractionDigits: 1 }).padStart(12)} ${r.unit}${ratio}`)
}

const sample = (i: number) => ({
  operationType: 'stock_price_download',
  result: 'success' as const,
  operator: 'ana@example.com',
  message: `Successfully downloaded data for AAPL #${i}`,
  extraInfo: { symbol: 'AAPL', records_count: 100 },
})

/** ns per call of fn over n calls, best of 3 rounds. */
function nsPerCall(n: number, fn: (i: number) => unknown): number {
  let best = Infinity
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn(i)
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n)
  }
  return best
}

const nullStore: AuditStore = {
  kind: 'pglite',
  insertEvents: async (rows) => rows.length,
  queryEvents: async () => ({ events: [], total: 0, totalExact: true }),
  getEvent: async () => null,
  stats: async () => ({ total: 0, by_result: {}, by_operation_type: {}, by_source: {}, by_severity: {}, histogram: { bucket: 'hour', points: [] } }),
  deleteEvents: async () => 0,
  isDataError: () => false,
  close: async () => {},
}

async function enqueueCost() {
  const devnull = pino(pino.destination({ dest: '/dev/null', sync: false }))
  const obj = sample(1)
  const pinoNs = nsPerCall(ENQUEUE, () => devnull.info(obj))
  // capacity for every call of every round, no flush while measuring
  const audit = createAuditLogger({ store: nullStore, queueSize: ENQUEUE * 4, batchSize: 10_000, flushIntervalMs: 3_600_000, log: { warn() {}, error() {} } })
  const logNs = nsPerCall(ENQUEUE, () => void audit.logEvent(obj))
  report({ scenario: 'enqueue', measure: 'logEvent (async mode), per call', value: logNs, unit: 'ns', baseline: "pino.info(obj) to /dev/null", baselineValue: pinoNs, goal: '≤ 1× pino' })
  await audit.shutdown({ deadlineMs: 60_000 })

  const work = async () => 1
  const bare = async () => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < 100_000; i++) await work()
    return Number(process.hrtime.bigint() - t0) / 100_000
  }
  const op = createAuditLogger({ store: nullStore, queueSize: 1_000_000, batchSize: 10_000, flushIntervalMs: 3_600_000, log: { warn() {}, error() {} } })
  const wrapped = async () => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < 100_000; i++) await op.auditOperation({ operationType: 'scan_process' }, work)
    return Number(process.hrtime.bigint() - t0) / 100_000
  }
  const b = Math.min(await bare(), await bare(), await bare())
  const w = Math.min(await wrapped(), await wrapped(), await wrapped())
  report({ scenario: 'enqueue', measure: 'auditOperation(fn), per call', value: w, unit: 'ns', baseline: 'await fn() bare', baselineValue: b })
  await op.shutdown({ deadlineMs: 60_000 })
}

function rows(n: number, offset = 0): EventRow[] {
  const now = Date.now()
  return Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    timestamp: new Date(now - (offset + i) * 10).toISOString(),
    source: 'api-service',
    operator: `user${(offset + i) % 500}@example.com`,
    operation_type: ['stock_price_download', 'scan_process', 'config_update'][(offset + i) % 3] as string,
    result: 'success',
    message: `Successfully downloaded data for AAPL #${offset + i}`,
    extra_info: { symbol: 'AAPL', records_count: 100 },
    severity: 'info',
  })) as EventRow[]
}

async function ingestPostgres() {
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} })
  const name = `audit_bench_${process.pid}`
  await admin.unsafe(`create database ${name}`)
  const url = new URL(BASE_URL)
  url.pathname = `/${name}`
  try {
    const store = await openPostgresStore({ databaseUrl: url.toString(), max: 4 })
    const sql = store.sql
    await sql.unsafe('create table copy_events (like public.audit_events including all)')
    await sql.unsafe('create table single_events (like public.audit_events including all)')

    // COPY of the same rows into an identical table (indexes included): the physical limit
    const copyRows = rows(EVENTS)
    const cols = ['id', 'timestamp', 'source', 'operator', 'operation_type', 'result', 'message', 'extra_info', 'severity']
    const esc = (v: unknown) => (v === null || v === undefined ? '\\N' : String(typeof v === 'object' ? JSON.stringify(v) : v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))
    let t0 = performance.now()
    const writable = await sql.unsafe(`copy copy_events (${cols.map((c) => `"${c}"`).join(',')}) from stdin`).writable()
    await new Promise<void>((resolve, reject) => {
      let i = 0
      const CH = 5000
      const pump = () => {
        while (i < copyRows.length) {
          const chunk = copyRows.slice(i, i + CH).map((r) => cols.map((c) => esc(r[c as keyof EventRow])).join('\t')).join('\n') + '\n'
          i += CH
          if (!writable.write(chunk)) return void writable.once('drain', pump)
        }
        writable.end()
      }
      writable.on('finish', resolve).on('error', reject)
      pump()
    })
    const copyRate = EVENTS / ((performance.now() - t0) / 1000)

    // one INSERT per event, awaited: the synchronous way (sampled)
    const singles = rows(SINGLE)
    t0 = performance.now()
    for (const r of singles) {
      await sql`insert into single_events (id, "timestamp", source, operator, operation_type, result, message, extra_info, severity)
        values (${r.id}, ${r.timestamp}, ${r.source}, ${r.operator ?? null}, ${r.operation_type}, ${r.result}, ${r.message ?? null}, ${sql.json(r.extra_info as never)}, ${r.severity})`
    }
    const singleRate = SINGLE / ((performance.now() - t0) / 1000)
    report({ scenario: 'ingest', measure: 'COPY into an identical table', value: copyRate, unit: 'rows/s' })
    report({ scenario: 'ingest', measure: 'one INSERT per event (awaited)', value: singleRate, unit: 'rows/s' })

    // the library: logEvent → queue → store, end to end
    const libRate = async (batchSize: number, n: number) => {
      const audit = createAuditLogger({ store, queueSize: n, batchSize, flushIntervalMs: 50, log: { warn() {}, error() {} } })
      const t = performance.now()
      for (let i = 0; i < n; i++) void audit.logEvent(sample(i))
      await audit.flush()
      const rate = n / ((performance.now() - t) / 1000)
      const s = audit.stats()
      if (s.written !== n) throw new Error(`library wrote ${s.written} of ${n}`)
      await audit.shutdown({ deadlineMs: 10_000 })
      return rate
    }
    const sweepN = Math.min(EVENTS, 200_000)
    let best = { size: 0, rate: 0 }
    for (const size of [100, 500, 1000, 2000, 5000]) {
      const rate = await libRate(size, sweepN)
      report({ scenario: 'ingest', measure: `library, batch ${size} (${sweepN.toLocaleString('en-US')} events)`, value: rate, unit: 'rows/s', baseline: 'COPY', baselineValue: copyRate })
      if (rate > best.rate) best = { size, rate }
    }
    const full = await libRate(best.size, EVENTS)
    report({ scenario: 'ingest', measure: `library, batch ${best.size}, ${EVENTS.toLocaleString('en-US')} events`, value: full, unit: 'rows/s', baseline: 'COPY', baselineValue: copyRate, goal: '≥ 0.7× COPY' })
    report({ scenario: 'ingest', measure: `library vs one INSERT per event`, value: full, unit: 'rows/s', baseline: 'per-event INSERT', baselineValue: singleRate, goal: '≥ 15×' })
    await store.close()
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

async function ingestPglite() {
  const store = await openPgliteStore({ dataDir: 'memory://' })
  const n = Math.min(EVENTS, 200_000)
  const audit = createAuditLogger({ store, queueSize: n, batchSize: 1000, flushIntervalMs: 50, log: { warn() {}, error() {} } })
  const t0 = performance.now()
  for (let i = 0; i < n; i++) void audit.logEvent(sample(i))
  await audit.flush()
  const rate = n / ((performance.now() - t0) / 1000)
  const pg = results.find((r) => r.measure.startsWith('library, batch 1000 '))
  report({ scenario: 'pglite', measure: `library, batch 1000 (${n.toLocaleString('en-US')} events)`, value: rate, unit: 'rows/s', ...(pg ? { baseline: 'same on the Postgres server', baselineValue: pg.value } : {}) })
  await audit.shutdown({ deadlineMs: 10_000 })
  await store.close()
}

function svg(rs: Result[]): string {
  const bars = rs.filter((r) => r.ratio !== undefined)
  const w = 760
  const rowH = 26
  const max = Math.max(1, ...bars.map((r) => r.ratio as number))
  const scale = (x: number) => (x / max) * (w - 330)
  const body = bars
    .map((r, i) => {
      const y = 30 + i * rowH
      return `<text x="0" y="${y + 14}" font-size="11">${`${r.scenario}: ${r.measure}`.slice(0, 52).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>
<rect x="320" y="${y}" width="${scale(r.ratio as number).toFixed(1)}" height="18" fill="#3b5bdb"/>
<text x="${(325 + scale(r.ratio as number)).toFixed(1)}" y="${y + 14}" font-size="11">${r.ratio}× ${(r.baseline ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`
    })
    .join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${40 + bars.length * rowH}" font-family="sans-serif">
<text x="0" y="16" font-size="13" font-weight="bold">Ratios to the baseline measured in the same run</text>
${body}
</svg>
`
}

async function main() {
  console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores; events ${EVENTS.toLocaleString('en-US')}\n`)
  await enqueueCost()
  await ingestPostgres()
  await ingestPglite()
  await writeFile(path.join(here, 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, events: EVENTS, results }, null, 2)}\n`)
  await writeFile(path.join(here, 'results.svg'), svg(results))
  console.log('\nwrote bench/results.json and bench/results.svg')
}

void main()
