/** What every benchmark section shares: the report, databases, the server process, psql timings. */
import { spawn } from 'node:child_process'
import http from 'node:http'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import postgres from 'postgres'
import { migratePostgres } from '@audit/core/postgres'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface Result {
  scenario: string
  measure: string
  value: number
  unit: string
  baseline?: string
  baselineValue?: number
  /** value / baseline; for latencies and costs lower is better, so `lowerIsBetter` says how to read it. */
  ratio?: number
  lowerIsBetter?: boolean
  goal?: string
  met?: boolean
}

export const results: Result[] = []

export function report(r: Result): Result {
  if (r.baselineValue !== undefined && r.baselineValue > 0) r.ratio = Math.round((r.value / r.baselineValue) * 100) / 100
  results.push(r)
  const ratio = r.ratio !== undefined ? `  ${r.ratio}× ${r.baseline}` : ''
  const goal = r.goal ? `  [goal ${r.goal}: ${r.met === undefined ? '-' : r.met ? 'met' : 'MISSED'}]` : ''
  console.log(`${r.scenario.padEnd(8)} ${r.measure.padEnd(58)} ${fmt(r.value).padStart(12)} ${r.unit}${ratio}${goal}`)
  return r
}

/** Text for an SVG element. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : n < 100 ? 1 : 0 })

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number
}

/** A fresh, migrated database on the server; `drop` removes it. */
export async function createDatabase(tag: string) {
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} })
  const name = `audit_bench_${tag.toLowerCase()}_${process.pid}`
  await admin.unsafe(`drop database if exists ${name} with (force)`)
  await admin.unsafe(`create database ${name}`)
  const url = new URL(BASE_URL)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 })
  await migratePostgres(pool)
  await pool.end()
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} })
  return {
    url: url.toString(),
    name,
    sql,
    async drop() {
      await sql.end()
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/**
 * Loads `rows` generated events (bench/dataset.sql) over the 30 days before
 * now: secondary indexes dropped, two loaders in parallel, indexes rebuilt,
 * then VACUUM ANALYZE, as a restore would do it.
 */
export async function loadDataset(sql: postgres.Sql, rows: number): Promise<number> {
  const t0 = performance.now()
  const indexes = await sql<{ indexname: string; indexdef: string }[]>`
    select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'audit_events'`
  for (const i of indexes) {
    if (i.indexname === 'audit_events_pkey') await sql.unsafe('alter table public.audit_events drop constraint audit_events_pkey')
    else await sql.unsafe(`drop index public.${i.indexname}`)
  }
  const half = Math.floor(rows / 2)
  await Promise.all([sql.unsafe(await datasetSql(rows, 1, half)), sql.unsafe(await datasetSql(rows, half + 1, rows))])
  for (const i of indexes) {
    if (i.indexname === 'audit_events_pkey') await sql.unsafe('alter table public.audit_events add constraint audit_events_pkey primary key (id)')
    else await sql.unsafe(i.indexdef)
  }
  await sql.unsafe('vacuum analyze public.audit_events')
  return (performance.now() - t0) / 1000
}

/**
 * A generator's statement for rows `lo` to `hi` of `n`: bench/dataset.sql (30 days, the mix the
 * query section has always measured) or bench/scale-dataset.sql (`days`, the realistic mix of
 * `pnpm bench --scale`).
 */
export async function datasetSql(n: number, lo: number, hi: number, file = 'bench/dataset.sql', days = 30): Promise<string> {
  const text = (await readFile(path.join(ROOT, file), 'utf8')).replace(/^--.*$/gm, '')
  const values: Record<string, number> = { lo, hi, n, days }
  return text.replace(/(?<!:):(lo|hi|n|days)\b/g, (_, k: string) => String(values[k]))
}

/** Runs `once` `warmup` times (JIT, caches, connections), then `reps` times; the durations in ms. */
export async function timeRuns(once: () => Promise<unknown>, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once()
  const out: number[] = []
  for (let i = 0; i < reps; i++) {
    const t = performance.now()
    await once()
    out.push(performance.now() - t)
  }
  return out
}

// One kept-alive connection, as a service calling the API would hold: node:http
// costs the client a third of what fetch does, so the figure is the server's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** GET `path` on the server `reps` times (after `warmup` runs); the durations in ms. */
export function timeApi(server: ApiServer, path: string, reps: number, warmup = 10): Promise<number[]> {
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(`${server.url}${path}`, { agent, headers: { authorization: `Bearer ${server.key}` } }, (res) => {
          res.resume()
          res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path} answered ${res.statusCode}`))))
        })
        .once('error', reject)
    })
  return timeRuns(get, reps, warmup)
}

export interface ApiServer {
  url: string
  key: string
  pid: number
  stop(): Promise<void>
}

/** The API server as its own process, as it runs in production: plain node on the build (apps/api/dist/server.js). */
export async function startApiServer(env: Record<string, string>): Promise<ApiServer> {
  const key = `bench-${Math.random().toString(36).slice(2)}-0123456789`
  const child = spawn(process.execPath, ['apps/api/dist/server.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      AUDIT_API_KEYS: `admin:bench:${key}`,
      AUDIT_RETENTION_SCHEDULE: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 120_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Audit events page: (http:\/\/\S+?\/)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    })
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
  })
  child.removeAllListeners('exit')
  return {
    url,
    key,
    pid: child.pid as number,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * The floor under every API figure: a bare `node:http` server in its own
 * process answering a constant, timed with the same client as the API.
 */
/**
 * POST one ingest body and wait for `expect` (201, or 202 with respond-async);
 * a 503 is sent again after its Retry-After (scaled down to keep the load on).
 * Pushes each attempt's latency to `latencies`; returns how many 503s it met.
 */
export async function postEvents(server: ApiServer, body: string, latencies: number[], opts: { expect?: number; respondAsync?: boolean } = {}): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${server.key}` }
  if (opts.respondAsync) headers.prefer = 'respond-async'
  let busy = 0
  for (;;) {
    const t = performance.now()
    const res = await fetch(`${server.url}api/v1/audit/events`, { method: 'POST', headers, body })
    await res.arrayBuffer()
    latencies.push(performance.now() - t)
    if (res.status === (opts.expect ?? 201)) return busy
    if (res.status !== 503) throw new Error(`ingest answered ${res.status}`)
    busy++
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 20))
  }
}

export async function httpFloor(reps: number): Promise<number[]> {
  const code = `require('node:http').createServer((q, r) => r.end('{}')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())))
    return await timeApi({ url: `http://127.0.0.1:${port}/`, key: 'none', pid: child.pid as number, stop: async () => {} }, '', reps, 100)
  } finally {
    child.kill()
  }
}

/** Resident set size of a process now and at its peak (VmHWM), in MiB. */
export async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024
  return { now: kb('VmRSS'), peak: kb('VmHWM') }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS. */
export async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}

/**
 * Runs each statement `reps` times in one psql session with \timing and
 * returns the client-side times in ms, per statement group: the baseline a
 * person gets by typing the same SQL into psql. `setup` runs first, untimed
 * (e.g. PREPARE, for an EXECUTE in the groups).
 */
export async function psqlTimes(url: string, groups: string[][], reps: number, setup: string[] = []): Promise<number[][]> {
  const script = [...setup.map((s) => `${s};`), '\\timing on', '\\o /dev/null']
  for (let r = 0; r < reps; r++) for (const g of groups) for (const s of g) script.push(`${s};`)
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  child.stdin.end(script.join('\n'))
  const code = await new Promise((r) => child.on('exit', r))
  if (code !== 0) throw new Error(`psql failed: ${err}`)
  const times = [...out.matchAll(/Time: ([\d.]+) ms/g)].map((m) => Number(m[1]))
  const perRep = groups.reduce((a, g) => a + g.length, 0)
  if (times.length !== perRep * reps) throw new Error(`psql printed ${times.length} timings, expected ${perRep * reps}:\n${err}`)
  const perGroup: number[][] = groups.map(() => [])
  let k = 0
  for (let r = 0; r < reps; r++) {
    groups.forEach((g, gi) => {
      let sum = 0
      for (const _ of g) sum += times[k++] as number
      ;(perGroup[gi] as number[]).push(sum)
    })
  }
  return perGroup
}
