/** Query latency through the API against the same SQL in psql, and export against psql \copy. */
import { DEFAULT_COUNT_CAP } from '../apps/api/src/config.ts'
import { eventsPageSql } from '../packages/audit-core/src/stores/sql-store.ts'
import { createDatabase, fmt, httpFloor, loadDataset, percentile, psqlTimes, report, resetPeak, rss, startApiServer, timeApi, type ApiServer } from './lib.ts'

const DAY = 86_400_000
const PAGE = 50 // the page's default size

export interface QueryCase {
  name: string
  /** API query string, without start_date/limit */
  qs: string
  /** the same filters as the API sends them to the store */
  filters: Record<string, unknown>
  offset?: number
  after?: string
}

/** The cases; the keyset one only when the window has a 100,000th row (`--rows` below about 450,000 has none). */
export function queryCases(afterId: string | undefined): QueryCase[] {
  const cases: QueryCase[] = [
    { name: 'default page: 7 days, newest first, with total', qs: '', filters: {} },
    { name: 'operation_type=user_login', qs: 'operation_type=user_login', filters: { operation_type: ['user_login'] } },
    { name: 'result=failure', qs: 'result=failure', filters: { result: ['failure'] } },
    { name: 'source=worker', qs: 'source=worker', filters: { source: ['worker'] } },
    { name: 'operator=user42@example.com', qs: 'operator=user42%40example.com', filters: { operator: ['user42@example.com'] } },
    { name: 'severity=warning', qs: 'severity=warning', filters: { severity: ['warning'] } },
    { name: 'tenant_id=tenant-7', qs: 'tenant_id=tenant-7', filters: { tenant_id: ['tenant-7'] } },
    { name: 'request_id (one event)', qs: 'request_id=req-4242', filters: { request_id: ['req-4242'] } },
    { name: 'q=MSFT (a quarter of the rows)', qs: 'q=MSFT', filters: { q: 'MSFT' } },
    { name: 'q=request 4242 (rare)', qs: 'q=request%204242', filters: { q: 'request 4242' } },
    { name: 'offset=100000', qs: 'offset=100000', filters: {}, offset: 100_000 },
  ]
  if (afterId) cases.push({ name: 'keyset: after= the 100,000th row', qs: `after=${afterId}`, filters: {}, after: afterId })
  return cases
}

const lit = (v: unknown) => (v === null ? 'null' : typeof v === 'number' ? String(v) : `'${(v as string).replace(/'/g, "''")}'`)

/** The statement the store runs for a case's page of 50 since `start` (the raw-SQL baseline on either engine). */
export function caseStatement(c: QueryCase, start: string): { text: string; params: unknown[] } {
  return eventsPageSql({
    filters: { start_date: start, ...c.filters },
    limit: PAGE,
    offset: c.offset ?? 0,
    order: 'desc',
    countCap: DEFAULT_COUNT_CAP,
    ...(c.after ? { after: c.after } : {}),
  })
}

/** A statement prepared as the store prepares it: PREPARE once, then EXECUTE (for psqlTimes). */
export function prepared({ text, params }: { text: string; params: unknown[] }, name: string): { setup: string[]; execute: string } {
  return { setup: [`prepare ${name} as ${text}`], execute: `execute ${name}(${params.map(lit).join(', ')})` }
}

/** A case's statement prepared as the store prepares it. */
const sqlFor = (c: QueryCase, start: string, name: string) => prepared(caseStatement(c, start), name)

/** Repetitions for a case: about 3 s of it, between 5 and 200 (sub-millisecond cases need many for a stable p95). */
export const repsFor = (ms: number) => Math.max(5, Math.min(200, Math.floor(3000 / Math.max(ms, 0.1))))

export async function queryLatency(rows: number, withExport: boolean) {
  const label = rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`
  const db = await createDatabase(`q${label}`)
  try {
    const loadSecs = await loadDataset(db.sql, rows)
    console.log(`  loaded ${rows.toLocaleString('en-US')} rows over 30 days in ${loadSecs.toFixed(0)} s`)
    const server = await startApiServer({ AUDIT_STORE: 'postgres', DATABASE_URL: db.url, AUDIT_EXPORT_MAX_ROWS: String(rows * 2) })
    try {
      const start = new Date(Date.now() - 7 * DAY).toISOString()
      const [k] = await db.sql<{ id: string }[]>`select id from public.audit_events where "timestamp" >= ${start}
        order by "timestamp" desc, id desc offset 99999 limit 1`
      const floor = await httpFloor(300)
      report({ scenario: `query ${label}`, measure: 'bare node:http round trip (the floor under each API figure): p50', value: percentile(floor, 50), unit: 'ms', lowerIsBetter: true })
      report({ scenario: `query ${label}`, measure: 'bare node:http round trip: p95 (300 runs)', value: percentile(floor, 95), unit: 'ms', lowerIsBetter: true })
      for (const [i, c] of queryCases(k?.id).entries()) {
        const path = `api/v1/audit/events?start_date=${encodeURIComponent(start)}&limit=${PAGE}${c.qs ? `&${c.qs}` : ''}`
        const probe = await timeApi(server, path, 1, 1)
        const reps = repsFor(probe[0] as number)
        const warmup = (probe[0] as number) < 50 ? 20 : 0
        const api = await timeApi(server, path, reps, warmup)
        const q = sqlFor(c, start, `q${i}`)
        const [raw] = await psqlTimes(db.url, [[q.execute]], reps + warmup, q.setup)
        raw?.splice(0, warmup) // psql's warm-up, as the API's
        const apiP95 = percentile(api, 95)
        const sqlP95 = percentile(raw as number[], 95)
        const isDefault = c.name.startsWith('default')
        report({ scenario: `query ${label}`, measure: `${c.name}: API p50`, value: percentile(api, 50), unit: 'ms', baseline: 'same SQL in psql, p50', baselineValue: percentile(raw as number[], 50), lowerIsBetter: true })
        report({
          scenario: `query ${label}`,
          measure: `${c.name}: API p95 (${reps} runs)`,
          value: apiP95,
          unit: 'ms',
          baseline: 'same SQL in psql, p95',
          baselineValue: sqlP95,
          lowerIsBetter: true,
          ...(isDefault ? { goal: '≤ 50 ms and ≤ 1.5× SQL', met: apiP95 <= 50 && apiP95 <= 1.5 * sqlP95 } : {}),
        })
      }
      // what the page asks besides the list: the summary and histogram of the range
      const stats = await timeApi(server, `api/v1/audit/stats?start_date=${encodeURIComponent(start)}`, 5, 1)
      report({ scenario: `query ${label}`, measure: 'stats of 7 days (the page\'s summary), API p50', value: percentile(stats, 50), unit: 'ms', lowerIsBetter: true })

      if (withExport) await exportFigures(server, db.url, rows)
    } finally {
      await server.stop()
    }
  } finally {
    await db.drop()
  }
}

/**
 * CSV export through the API against psql \copy of the same rows: all of them, or those since
 * `start` (then `rows` is how many that is). Reported under `scenario`; returns both rates.
 */
export async function exportFigures(server: ApiServer, url: string, rows: number, { start, scenario = 'export' }: { start?: string; scenario?: string } = {}) {
  const before = await rss(server.pid)
  await resetPeak(server.pid)
  let bytes = 0
  const t0 = performance.now()
  const since = start ? `&start_date=${encodeURIComponent(start)}` : ''
  const res = await fetch(`${server.url}api/v1/audit/events/export?format=csv&order=asc${since}`, { headers: { authorization: `Bearer ${server.key}` } })
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`)
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
  }
  const secs = (performance.now() - t0) / 1000
  const { peak } = await rss(server.pid) // VmHWM since the reset: the export's peak
  const apiRate = rows / secs

  const { spawn } = await import('node:child_process')
  const t1 = performance.now()
  await new Promise<void>((resolve, reject) => {
    const where = start ? ` where "timestamp" >= '${start}'` : ''
    const p = spawn('psql', ['-X', '-q', url, '-c', `\\copy (select * from public.audit_events${where} order by "timestamp", id) to stdout with (format csv, header)`], { stdio: ['ignore', 'ignore', 'inherit'] })
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy exited ${code}`))))
  })
  const psqlRate = rows / ((performance.now() - t1) / 1000)
  const what = start ? `CSV of the ${rows.toLocaleString('en-US')} rows since ${start.slice(0, 10)}` : `CSV of ${rows.toLocaleString('en-US')} rows`
  report({ scenario, measure: `${what} through the API (${fmt(bytes / 1048576)} MiB)`, value: apiRate, unit: 'rows/s', baseline: 'psql \\copy … to stdout csv', baselineValue: psqlRate, goal: '≥ 0.5×', met: apiRate >= 0.5 * psqlRate })
  report({ scenario, measure: `server RSS: before ${fmt(before.now)} MiB, peak during the export`, value: peak, unit: 'MiB', goal: 'flat', met: peak - before.now < 100 })
  return { apiRate, psqlRate, bytes }
}
