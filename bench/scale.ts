/**
 * The service at scale (`pnpm bench --scale`): for each size (1M, 10M and 100M events by
 * default; `--scale-rows 1000000,10000000` for some), a fresh database migrated by the
 * service's own migrations, filled with the realistic mix of bench/scale-dataset.sql over 90
 * days through the normal table (every index and trigger: the trail, and whatever else the
 * migrations add), `--scale-chunk` rows (default 1,000,000) per INSERT … SELECT by two writers,
 * then VACUUM ANALYZE. Through the API, each case's p50/p95 against the same statement in psql,
 * the CSV export rate of 7 days against psql \copy, the load rate, and the disk per million
 * events of every table. A size whose projected disk is more than free disk / 1.5 is skipped.
 *
 * Writes bench/scale-results.json (sizes not re-run are kept, each with its date and commit),
 * bench/scale.svg (p95 of each case against rows, log-log) and the section "At scale" of
 * bench/README.md.
 */
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { BASE_URL, ROOT, createDatabase, datasetSql, esc, fmt, percentile, psqlTimes, report, results, startApiServer, timeApi, type ApiServer, type Result } from './lib.ts'
import { caseStatement, exportFigures, prepared, repsFor, type QueryCase } from './query.ts'
import { writeReadmeSection } from './table.ts'

const DAYS = 90
const DAY = 86_400_000
const MIB = 1024 ** 2
const GIB = 1024 ** 3
const WRITERS = 2
/** Bytes per million events assumed before any size has been measured in the run. */
const FIRST_GUESS_PER_MILLION = 1.5 * GIB
const JSON_FILE = path.join(ROOT, 'bench/scale-results.json')
const SVG_FILE = path.join(ROOT, 'bench/scale.svg')

export interface CaseFigures {
  name: string
  runs: number
  apiP50: number
  apiP95: number
  sqlP50: number
  sqlP95: number
}

export interface SizeFigures {
  rows: number
  label: string
  date: string
  commit: string
  chunk: number
  loadSecs: number
  loadRate: number
  vacuumSecs: number
  /** events in the last 7 days (the default window) */
  windowRows: number
  disk: { tables: { name: string; bytes: number; parts: number }[]; totalBytes: number; perMillion: number; databaseBytes: number }
  cases: CaseFigures[]
  export: { rows: number; apiRate: number; psqlRate: number; bytes: number }
  minutes: number
  /** the machine's 1-minute load average when the size finished (other work shares the cores) */
  loadAverage?: number
  results: Result[]
}

export interface Skipped {
  rows: number
  label: string
  date: string
  reason: string
}

interface ScaleFile {
  node: string
  cores: number
  sizes: SizeFigures[]
  skipped: Skipped[]
}

const label = (rows: number) => (rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`)

/** Runs the sizes in turn, then writes the json, the chart and the README section. */
export async function scaleBench(sizes: number[], chunk: number): Promise<void> {
  const commit = git(['rev-parse', '--short', 'HEAD'])
  const previous = await readPrevious()
  const done: SizeFigures[] = []
  const skipped: Skipped[] = []
  for (const rows of sizes) {
    const measured = [...done, ...previous.sizes].sort((a, b) => b.rows - a.rows)[0]
    const perMillion = measured?.disk.perMillion ?? FIRST_GUESS_PER_MILLION
    const projected = (perMillion * rows) / 1e6
    const free = await freeDisk()
    const basis = measured ? `${fmt(perMillion / MIB)} MiB per million events as measured at ${measured.label}` : `a first guess of ${fmt(perMillion / MIB)} MiB per million events`
    if (free === undefined || free < 1.5 * projected) {
      const reason =
        free === undefined
          ? `projected ${fmt(projected / GIB)} GiB (${basis}); the free space of the server's data directory could not be read (df), so it is not loaded`
          : `projected ${fmt(projected / GIB)} GiB (${basis}), free ${fmt(free / GIB)} GiB: less than 1.5× the projection, so it is not loaded`
      console.log(`\nscale ${label(rows)}: SKIPPED: ${reason}`)
      skipped.push({ rows, label: label(rows), date: new Date().toISOString(), reason })
      continue
    }
    console.log(`\nscale ${label(rows)}: projected ${fmt(projected / GIB)} GiB (${basis}), free ${fmt(free / GIB)} GiB`)
    done.push(await oneSize(rows, chunk, commit))
  }
  const merged: ScaleFile = {
    node: process.version,
    cores: os.cpus().length,
    sizes: [...done, ...previous.sizes.filter((p) => !done.some((d) => d.rows === p.rows))].sort((a, b) => a.rows - b.rows),
    skipped: [...skipped, ...previous.skipped.filter((p) => !done.some((d) => d.rows === p.rows) && !skipped.some((s) => s.rows === p.rows))].sort((a, b) => a.rows - b.rows),
  }
  await writeFile(JSON_FILE, `${JSON.stringify(merged, null, 2)}\n`)
  await render(merged)
  console.log('wrote bench/scale-results.json, bench/scale.svg and the section "At scale" of bench/README.md')
}

/** The chart and the README section from the figures. */
async function render(f: ScaleFile): Promise<void> {
  await writeFile(SVG_FILE, scaleSvg(f.sizes, f.skipped))
  await writeReadmeSection(README_START, README_END, readmeBody(f), README_HEADING)
}

async function oneSize(rows: number, chunk: number, commit: string): Promise<SizeFigures> {
  const started = performance.now()
  const scenario = `scale ${label(rows)}`
  const first = results.length
  const db = await createDatabase(`scale_${label(rows)}`)
  try {
    const loadSecs = await load(db.sql, rows, chunk, scenario)
    // Events of past days land in the default partition of a partitioned table
    // (partitions are made from the day the table was partitioned on); the
    // maintenance moves them into partitions of their own days, as the API's
    // hourly run does, so the cases read the table as it stands in service.
    const m = performance.now()
    const [status] = await db.sql.unsafe<{ p: { partitioned?: boolean } }[]>('select public.audit_partitioning() as p')
    if (status?.p?.partitioned) {
      // a day a call, each its own transaction, until the default partition is empty
      for (;;) {
        const [m] = await db.sql.unsafe<{ m: { moved: number; backlog: boolean } }[]>('select public.audit_partition_maintenance() as m')
        if (!m?.m.backlog || !m.m.moved) break
      }
      // the moved rows leave dead space in the default partition, which a table
      // filled as events arrive never has: give it back so the disk figure is the table's
      const [d] = await db.sql.unsafe<{ t: string }[]>('select d.relid::regclass::text as t from audit_private.event_partitions() d where d.is_default')
      if (d) await db.sql.unsafe(`vacuum full ${d.t}`)
      report({ scenario, measure: 'partition maintenance: past days out of the default partition', value: (performance.now() - m) / 1000, unit: 's', lowerIsBetter: true })
    }
    const t = performance.now()
    await db.sql.unsafe('vacuum analyze')
    const vacuumSecs = (performance.now() - t) / 1000
    report({ scenario, measure: `load: INSERT … SELECT of ${fmt(chunk)} rows a statement, ${WRITERS} writers, every index and trigger`, value: rows / loadSecs, unit: 'rows/s' })
    report({ scenario, measure: 'VACUUM ANALYZE after the load', value: vacuumSecs, unit: 's', lowerIsBetter: true })
    const disk = await diskUse(db.sql, rows)
    for (const tb of disk.tables) report({ scenario, measure: `disk: ${tb.name}${tb.parts > 1 ? ` (${tb.parts} partitions)` : ''}, table + indexes + toast`, value: tb.bytes / MIB, unit: 'MiB' })
    report({ scenario, measure: 'disk per million events, all tables above', value: disk.perMillion / MIB, unit: 'MiB', lowerIsBetter: true })

    const start = new Date(Date.now() - 7 * DAY).toISOString()
    const [w] = await db.sql<{ n: string }[]>`select count(*) as n from public.audit_events where "timestamp" >= ${start}`
    const windowRows = Number(w?.n ?? 0)
    const depth = Math.min(50_000, windowRows - 1)
    const [k] = await db.sql<{ id: string; request_id: string; ref: string }[]>`
      select id, request_id, substring(message from 'ref ([0-9a-f]{10})') as ref from public.audit_events
      where "timestamp" >= ${start} order by "timestamp" desc, id desc offset ${depth} limit 1`
    if (!k) throw new Error(`no row ${depth} in the last 7 days`)
    const server = await startApiServer({ AUDIT_STORE: 'postgres', DATABASE_URL: db.url, AUDIT_EXPORT_MAX_ROWS: String(rows) })
    try {
      const cases: CaseFigures[] = []
      for (const [i, c] of scaleCases(k, depth).entries()) {
        const api = `api/v1/audit/events?start_date=${encodeURIComponent(start)}&limit=50${c.qs ? `&${c.qs}` : ''}`
        cases.push(await timeCase(server, db.url, scenario, c.name, api, caseStatement(c, start), `q${i}`))
      }
      for (const days of [7, 30]) {
        const since = new Date(Date.now() - days * DAY).toISOString()
        // the store's statement for GET /stats (sql-store.ts, stats()); more than 2 days: day buckets
        const stmt = { text: 'select public.audit_stats($1::text::jsonb, $2::text, $3::text) as s', params: [JSON.stringify({ start_date: since }), 'day', null] }
        cases.push(await timeCase(server, db.url, scenario, `stats of ${days} days (facets and histogram)`, `api/v1/audit/stats?start_date=${encodeURIComponent(since)}`, stmt, `s${days}`))
      }
      const ex = await exportFigures(server, db.url, windowRows, { start, scenario })
      const minutes = (performance.now() - started) / 60_000
      console.log(`${scenario}: ${minutes.toFixed(1)} min`)
      return {
        rows,
        label: label(rows),
        date: new Date().toISOString(),
        commit,
        chunk,
        loadSecs,
        loadRate: rows / loadSecs,
        vacuumSecs,
        windowRows,
        disk,
        cases,
        export: { rows: windowRows, ...ex },
        minutes: Math.round(minutes * 10) / 10,
        loadAverage: Math.round((os.loadavg()[0] ?? 0) * 10) / 10,
        results: results.slice(first),
      }
    } finally {
      await server.stop()
    }
  } finally {
    await db.drop()
  }
}

/** The page's cases at this scale: the 7-day window, each filter, keyset, common and rare `q` (values picked from scale-dataset.sql's mix). */
function scaleCases(k: { id: string; request_id: string; ref: string }, depth: number): QueryCase[] {
  return [
    { name: 'default page: 7 days, newest first, with total', qs: '', filters: {} },
    { name: 'operation_type=user_login (5.4%)', qs: 'operation_type=user_login', filters: { operation_type: ['user_login'] } },
    { name: 'result=failure (8%)', qs: 'result=failure', filters: { result: ['failure'] } },
    { name: 'source=worker (15%)', qs: 'source=worker', filters: { source: ['worker'] } },
    { name: 'operator=user42@example.com (0.2%)', qs: 'operator=user42%40example.com', filters: { operator: ['user42@example.com'] } },
    { name: 'severity=warning (2%)', qs: 'severity=warning', filters: { severity: ['warning'] } },
    { name: 'tenant_id=tenant-7 (2.5%)', qs: 'tenant_id=tenant-7', filters: { tenant_id: ['tenant-7'] } },
    { name: 'request_id (one event)', qs: `request_id=${k.request_id}`, filters: { request_id: [k.request_id] } },
    { name: `keyset: after= the ${fmt(depth)}th row`, qs: `after=${k.id}`, filters: {}, after: k.id },
    { name: 'q=MSFT (common: 1 event in 8)', qs: 'q=MSFT', filters: { q: 'MSFT' } },
    { name: 'q=one ref, 10 hex digits (rare: one event)', qs: `q=${k.ref}`, filters: { q: k.ref } },
  ]
}

/** p50/p95 of `apiPath` through the API against the same statement PREPAREd and EXECUTEd in psql, as many runs each. */
async function timeCase(server: ApiServer, url: string, scenario: string, name: string, apiPath: string, stmt: { text: string; params: unknown[] }, key: string): Promise<CaseFigures> {
  const probe = (await timeApi(server, apiPath, 1, 1))[0] as number
  const runs = repsFor(probe)
  const warmup = probe < 50 ? 20 : 0
  const api = await timeApi(server, apiPath, runs, warmup)
  const q = prepared(stmt, key)
  const [raw = []] = await psqlTimes(url, [[q.execute]], runs + warmup, q.setup)
  raw.splice(0, warmup)
  const f = { name, runs, apiP50: percentile(api, 50), apiP95: percentile(api, 95), sqlP50: percentile(raw, 50), sqlP95: percentile(raw, 95) }
  report({ scenario, measure: `${name}: API p50`, value: f.apiP50, unit: 'ms', baseline: 'same SQL in psql, p50', baselineValue: f.sqlP50, lowerIsBetter: true })
  report({ scenario, measure: `${name}: API p95 (${runs} runs)`, value: f.apiP95, unit: 'ms', baseline: 'same SQL in psql, p95', baselineValue: f.sqlP95, lowerIsBetter: true })
  return f
}

/** Generates `rows` events in chunks of `chunk` rows a statement, `WRITERS` statements at a time; seconds taken. */
async function load(sql: postgres.Sql, rows: number, chunk: number, scenario: string): Promise<number> {
  const t0 = performance.now()
  let next = 1
  let loaded = 0
  let shown = t0
  const writer = async () => {
    while (next <= rows) {
      const lo = next
      const hi = Math.min(rows, lo + chunk - 1)
      next = hi + 1
      await sql.unsafe(await datasetSql(rows, lo, hi, 'bench/scale-dataset.sql', DAYS))
      loaded += hi - lo + 1
      const now = performance.now()
      if (now - shown > 60_000 || loaded === rows) {
        shown = now
        const rate = loaded / ((now - t0) / 1000)
        console.log(`  ${scenario}: ${fmt(loaded)} rows in ${fmt((now - t0) / 1000)} s, ${fmt(rate)} rows/s${loaded < rows ? `, about ${fmt((rows - loaded) / rate / 60)} min to go` : ''}`)
      }
    }
  }
  await Promise.all(Array.from({ length: WRITERS }, writer))
  return (performance.now() - t0) / 1000
}

/** Every table of the database (a partitioned one as the sum of its partitions) with its indexes and toast. */
async function diskUse(sql: postgres.Sql, rows: number): Promise<SizeFigures['disk']> {
  const tables = await sql<{ name: string; bytes: string; parts: string }[]>`
    select coalesce(pg_partition_root(c.oid), c.oid)::regclass::text as name,
      sum(pg_total_relation_size(c.oid)) as bytes, count(*) as parts
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
    group by 1 having sum(pg_total_relation_size(c.oid)) > 65536 order by 2 desc`
  const [d] = await sql<{ bytes: string }[]>`select pg_database_size(current_database()) as bytes`
  const list = tables.map((t) => ({ name: t.name, bytes: Number(t.bytes), parts: Number(t.parts) }))
  const totalBytes = list.reduce((a, t) => a + t.bytes, 0)
  return { tables: list, totalBytes, perMillion: (totalBytes / rows) * 1e6, databaseBytes: Number(d?.bytes ?? 0) }
}

/** Free bytes where the server keeps its data (df of data_directory), when it is on this machine. */
async function freeDisk(): Promise<number | undefined> {
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} })
  try {
    const [r] = await admin<{ dir: string }[]>`select current_setting('data_directory') as dir`
    const out = execFileSync('df', ['-B1', '--output=avail', r?.dir ?? ''], { encoding: 'utf8' })
    const n = Number(out.trim().split('\n')[1])
    return Number.isFinite(n) ? n : undefined
  } catch {
    return undefined
  } finally {
    await admin.end()
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

async function readPrevious(): Promise<Pick<ScaleFile, 'sizes' | 'skipped'>> {
  try {
    const j = JSON.parse(await readFile(JSON_FILE, 'utf8')) as ScaleFile
    return { sizes: j.sizes, skipped: j.skipped }
  } catch {
    return { sizes: [], skipped: [] }
  }
}

const README_START = '<!-- scale: written by bench/scale.ts -->'
const README_END = '<!-- /scale -->'
const README_HEADING = `## At scale: 1M, 10M, 100M events

\`npx -y pnpm@10.34.9 bench --scale\` (\`--scale-rows 1000000,10000000\` for some sizes; a size run
again replaces its figures, the others are kept with their date and commit). Each size is a fresh
database migrated by the service's migrations and filled by \`scale-dataset.sql\`: events over the 90
days before now, UUIDv7 ids, 8 sources, 200 operation types with a long tail, 5,000 operators,
200 tenants, 90/8/2% success/failure/warning, messages with a common word (a ticker) and a rare one
(a 10-hex-digit ref), flat \`extra_info\`. The rows go through the normal table, a million per
\`INSERT … SELECT\` by two writers, so every index and trigger (the trail, and whatever a migration
adds) does its work, then \`VACUUM ANALYZE\`. The cases are the page's: 7 days newest first with the
total, each filter, a keyset page, common and rare \`q\`, and \`/stats\` of 7 and 30 days; each as
p50/p95 through the API (one kept-alive connection, as the query section) and as a ratio to the
store's own statement \`PREPARE\`d and \`EXECUTE\`d in psql as many times. Export: CSV of the 7 days
through \`/export\` against \`psql \\copy\` of the same rows. Disk: every table with its indexes and
toast (\`pg_total_relation_size\`; a partitioned table as the sum of its partitions), per million
events. A size is skipped, with a printed line, when the disk it would take (projected from the
largest size measured) is more than the free space of the server's data directory / 1.5.

![p95 of each case against the number of events](scale.svg)`

/** The section's generated part: the runs, the cases (a column per size), load and disk. */
function readmeBody(f: ScaleFile): string {
  const sizes = f.sizes
  if (sizes.length === 0) return f.skipped.map((s) => `- ${s.label} skipped (${s.date.slice(0, 16)} UTC): ${s.reason}`).join('\n')
  const runs = sizes.map((s) => `- ${s.label}: run of ${s.date.slice(0, 16).replace('T', ' ')} UTC on ${s.commit}, ${s.minutes} min in all${s.loadAverage !== undefined ? `, load average ${s.loadAverage} at the end` : ''}; ${fmt(s.windowRows)} events in the last 7 days`)
  const skips = f.skipped.map((s) => `- ${s.label}: skipped (${s.date.slice(0, 16).replace('T', ' ')} UTC): ${s.reason}`)
  const head = `| case | ${sizes.map((s) => `${s.label}: API p50 / p95 (psql p95: ratio)`).join(' | ')} |`
  const sep = `|---|${sizes.map(() => '---').join('|')}|`
  const names = [...new Set(sizes.flatMap((s) => s.cases.map((c) => c.name)))]
  const cell = (c: CaseFigures | undefined) => (c ? `${fmt(c.apiP50)} / ${fmt(c.apiP95)} ms (${fmt(c.sqlP95)} ms: **${fmt(c.apiP95 / c.sqlP95)}×**)` : '')
  const caseRows = names.map((n) => `| ${n.replace(/\|/g, '\\|')} | ${sizes.map((s) => cell(s.cases.find((c) => c.name === n))).join(' | ')} |`)
  const row = (name: string, v: (s: SizeFigures) => string) => `| ${name} | ${sizes.map(v).join(' | ')} |`
  const other = [
    row('export: CSV of the 7 days, API rows/s (psql \\copy: ratio)', (s) => `${fmt(s.export.apiRate)} rows/s (${fmt(s.export.psqlRate)} rows/s: **${fmt(s.export.apiRate / s.export.psqlRate)}×**)`),
    row('load: rows/s through every index and trigger (minutes)', (s) => `${fmt(s.loadRate)} rows/s (${fmt(s.loadSecs / 60)} min)`),
    row('VACUUM ANALYZE after the load', (s) => `${fmt(s.vacuumSecs)} s`),
  ]
  const tables = [...new Set(sizes.flatMap((s) => s.disk.tables.map((t) => t.name)))]
  const diskRows = [
    ...tables.map((t) => row(`disk: ${t}`, (s) => { const x = s.disk.tables.find((y) => y.name === t); return x ? `${fmt(x.bytes / MIB)} MiB` : '' })),
    row('disk: all of the above', (s) => `${fmt(s.disk.totalBytes / MIB)} MiB`),
    row('**disk per million events**', (s) => `**${fmt(s.disk.perMillion / MIB)} MiB**`),
  ]
  return [`Runs on Node ${f.node}, ${f.cores} cores, PostgreSQL 15 on the same machine:`, '', ...runs, ...skips, '', head, sep, ...caseRows, ...other, ...diskRows].join('\n')
}

const COLOURS = ['#1864ab', '#c92a2a', '#2b8a3e', '#e67700', '#862e9c', '#0b7285', '#5f3dc4', '#a61e4d', '#364fc7', '#087f5b', '#d9480f', '#495057', '#74b816']

/** p95 of each case against the number of events, both axes log (the style of results.svg). */
export function scaleSvg(sizes: SizeFigures[], skipped: Skipped[] = []): string {
  const names = [...new Set(sizes.flatMap((s) => s.cases.map((c) => c.name)))]
  const p95s = sizes.flatMap((s) => s.cases.map((c) => c.apiP95)).filter((v) => v > 0)
  const w = 980
  const left = 80
  const plotW = 440
  const top = 40
  const plotH = 420
  const h = top + plotH + 50
  const xs = [1e6, 1e8, ...sizes.map((s) => s.rows)]
  const x0 = Math.floor(Math.log10(Math.min(...xs)))
  const x1 = Math.ceil(Math.log10(Math.max(...xs)))
  const y0 = Math.floor(Math.log10(Math.min(1, ...p95s)))
  const y1 = Math.max(y0 + 1, Math.ceil(Math.log10(Math.max(10, ...p95s))))
  const x = (rows: number) => left + ((Math.log10(rows) - x0) / (x1 - x0)) * plotW
  const y = (ms: number) => top + plotH - ((Math.log10(ms) - y0) / (y1 - y0)) * plotH
  const grid: string[] = []
  for (let d = x0; d <= x1; d++) {
    grid.push(`<line x1="${x(10 ** d).toFixed(1)}" y1="${top}" x2="${x(10 ** d).toFixed(1)}" y2="${top + plotH}" stroke="#dee2e6"/>`)
    grid.push(`<text x="${(x(10 ** d) - 14).toFixed(1)}" y="${top + plotH + 16}" font-size="11">${esc(label(10 ** d).replace('1000M', '1G'))}</text>`)
  }
  for (let d = y0; d <= y1; d++) {
    grid.push(`<line x1="${left}" y1="${y(10 ** d).toFixed(1)}" x2="${left + plotW}" y2="${y(10 ** d).toFixed(1)}" stroke="#dee2e6"/>`)
    grid.push(`<text x="${left - 6}" y="${(y(10 ** d) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmt(10 ** d)} ms</text>`)
  }
  for (const sk of skipped) {
    if (sizes.some((sz) => sz.rows === sk.rows)) continue
    grid.push(`<text x="${(x(sk.rows) - 6).toFixed(1)}" y="${top + plotH / 2}" font-size="11" fill="#868e96" transform="rotate(-90 ${(x(sk.rows) - 6).toFixed(1)} ${top + plotH / 2})" text-anchor="middle">${esc(`${sk.label}: not run (disk), see README`)}</text>`)
  }
  const last = (n: string) => [...sizes].reverse().map((s) => s.cases.find((c) => c.name === n)?.apiP95).find((v) => v !== undefined) ?? 0
  const ordered = [...names].sort((a, b) => last(b) - last(a))
  const lines = ordered.map((n, i) => {
    const colour = COLOURS[names.indexOf(n) % COLOURS.length] as string
    const pts = sizes.flatMap((s) => {
      const c = s.cases.find((cc) => cc.name === n)
      return c && c.apiP95 > 0 ? [[x(s.rows), y(c.apiP95)] as const] : []
    })
    const path = pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')
    const dots = pts.map(([px, py]) => `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${colour}"/>`).join('')
    const ly = top + 8 + i * 18
    return `<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>${dots}
<rect x="${left + plotW + 30}" y="${ly - 9}" width="12" height="10" fill="${colour}"/><text x="${left + plotW + 48}" y="${ly}" font-size="11">${esc(`${n}: ${fmt(last(n))} ms`)}</text>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="0" y="16" font-size="13" font-weight="bold">API p95 of each case against the number of events over 90 days (log-log; legend: p95 at the largest size, ${esc(sizes.at(-1)?.label ?? '')})</text>
${grid.join('\n')}
<text x="${left + plotW / 2 - 30}" y="${top + plotH + 36}" font-size="11">events in the table</text>
${lines.join('\n')}
</svg>
`
}

// `tsx bench/scale.ts` re-renders the chart and the README section from scale-results.json
if (process.argv[1]?.endsWith('scale.ts')) await render(JSON.parse(await readFile(JSON_FILE, 'utf8')) as ScaleFile)
