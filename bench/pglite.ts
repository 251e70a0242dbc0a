/** The same figures on the embedded default (PGlite, persisted to files as the server does). */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { openPgliteStore } from '@audit/core/pglite'
import { COPY_COLUMNS, copyText, libraryRate, rows } from './ingest.ts'
import { datasetSql, percentile, report, startApiServer, timeApi, timeRuns } from './lib.ts'
import { caseStatement, queryCases } from './query.ts'

const DAY = 86_400_000

export async function pgliteFigures(opts: { events: number; singles: number; rows: number; pinoNs: number; serverLibraryRate?: number }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'audit-bench-pglite-'))
  try {
    await ingest(dir, opts)
    if (opts.rows > 0) await queries(dir, opts.rows)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function ingest(dir: string, opts: { events: number; singles: number; pinoNs: number; serverLibraryRate?: number }) {
  const store = await openPgliteStore({ dataDir: path.join(dir, 'ingest') })
  const db = store.db
  await db.exec('create table copy_events (like public.audit_events including all); create table single_events (like public.audit_events including all)')
  const copyRows = rows(opts.events)
  let t0 = performance.now()
  for (let i = 0; i < copyRows.length; i += 50_000) {
    await db.query(`copy copy_events (${COPY_COLUMNS.map((c) => `"${c}"`).join(',')}) from '/dev/blob'`, [], { blob: new Blob([copyText(copyRows.slice(i, i + 50_000))]) })
  }
  const copyRate = opts.events / ((performance.now() - t0) / 1000)
  report({ scenario: 'pglite', measure: `COPY into an identical table (${opts.events.toLocaleString('en-US')} rows)`, value: copyRate, unit: 'rows/s' })
  const one = rows(opts.singles)
  t0 = performance.now()
  for (const r of one) {
    await db.query('insert into single_events (id, "timestamp", source, operator, operation_type, result, message, extra_info, severity) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      r.id, r.timestamp, r.source, r.operator, r.operation_type, r.result, r.message, JSON.stringify(r.extra_info), r.severity,
    ])
  }
  const singleRate = opts.singles / ((performance.now() - t0) / 1000)
  report({ scenario: 'pglite', measure: `one INSERT per event, awaited (${opts.singles.toLocaleString('en-US')})`, value: singleRate, unit: 'rows/s' })
  const rate = await libraryRate(store, opts.events, 1000, 2)
  report({ scenario: 'pglite', measure: `library, batch 1000 (${opts.events.toLocaleString('en-US')} events)`, value: rate, unit: 'rows/s', baseline: 'COPY on PGlite', baselineValue: copyRate })
  report({ scenario: 'pglite', measure: 'library against one INSERT per event', value: rate, unit: 'rows/s', baseline: 'per-event INSERT on PGlite', baselineValue: singleRate })
  if (opts.serverLibraryRate) report({ scenario: 'pglite', measure: 'library on PGlite against the Postgres server', value: rate, unit: 'rows/s', baseline: 'library on the server', baselineValue: opts.serverLibraryRate })
  // PGlite runs on the application's own thread: what each event costs it, write included
  const perEvent = 1e9 / rate
  report({ scenario: 'pglite', measure: 'logEvent + its share of the write, on the app thread', value: perEvent, unit: 'ns', baseline: 'pino.info(obj) to /dev/null', baselineValue: opts.pinoNs, lowerIsBetter: true })
  await store.close()
}

async function queries(dir: string, n: number) {
  const dataDir = path.join(dir, 'query')
  const store = await openPgliteStore({ dataDir })
  const db = store.db
  const t0 = performance.now()
  const indexes = (await db.query<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where tablename = 'audit_events' and indexname <> 'audit_events_pkey'`)).rows
  for (const i of indexes) await db.exec(`drop index public.${i.indexname}`)
  const step = 250_000
  for (let lo = 1; lo <= n; lo += step) await db.exec(await datasetSql(n, lo, Math.min(n, lo + step - 1)))
  for (const i of indexes) await db.exec(i.indexdef)
  await db.exec('vacuum analyze public.audit_events')
  console.log(`  loaded ${n.toLocaleString('en-US')} rows into PGlite in ${((performance.now() - t0) / 1000).toFixed(0)} s`)

  // the same SQL straight on the engine, in process: PGlite's floor
  const start = new Date(Date.now() - 7 * DAY).toISOString()
  const k = (await db.query<{ id: string }>(`select id from public.audit_events where "timestamp" >= $1 order by "timestamp" desc, id desc offset 99999 limit 1`, [start])).rows[0]
  const cases = queryCases(k?.id)
  const raw = new Map<string, number[]>()
  for (const c of cases) {
    const { text, params } = caseStatement(c, start)
    raw.set(c.name, await timeRuns(() => db.query(text, params), 10))
  }
  await store.close()

  // the server opens <AUDIT_DATA_DIR>/pglite, as openPgliteStore did
  const api = await startApiServer({ AUDIT_STORE: 'pglite', AUDIT_DATA_DIR: dataDir })
  try {
    const label = `${n / 1e6}M`
    for (const c of cases) {
      const times = await timeApi(api, `api/v1/audit/events?start_date=${encodeURIComponent(start)}&limit=50${c.qs ? `&${c.qs}` : ''}`, 10, 1)
      const base = raw.get(c.name) as number[]
      report({ scenario: `pglite ${label}`, measure: `${c.name}: API p95 (10 runs)`, value: percentile(times, 95), unit: 'ms', baseline: 'same SQL in process, p95', baselineValue: percentile(base, 95), lowerIsBetter: true })
    }
  } finally {
    await api.stop()
  }
}
