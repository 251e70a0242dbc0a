/**
 * What every chaos scenario shares: the service started as the README
 * starts it (on a chaos cluster's database or a PGlite directory), a load
 * generator that records what the service acknowledged, and a checker that
 * holds the service to issue 12's three promises — every acknowledged id
 * is in the database exactly once, the queue's counters add up, and a list
 * request is answered within 2 s afterwards.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { freePort, startServer, type RunningServer } from '../server-process.ts'
import { afterAll, beforeAll } from 'vitest'
import type { QueueStats } from '@audit/core'
import { startCluster, type ChaosCluster } from './cluster.ts'

/** The admin key every chaos server is started with (AUDIT_API_KEYS). */
export const CHAOS_KEY = 'chaos-admin-key-0123456789abcdef'
/** How long a list request may take once the service is idle again. */
export const LIST_WITHIN_MS = 2000
/** How long the service gets to recover once a fault is over (a working one needs about the capped retry delay, 2 s). */
export const RECOVER_WITHIN_MS = 10_000
/** How long the queue gets to empty once the load is over (3 s when the service did not recover at all). */
export const IDLE_WITHIN_MS = 20_000
/** How long a scenario's cleanup waits for an idle server to exit on SIGTERM before it SIGKILLs it. */
export const CLEANUP_GRACE_MS = 5000

/** Statements on the database a scenario checks (the chaos cluster's, or PGlite's). */
export interface Db {
  query<T extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
}

export interface ChaosServer {
  /** Base URL with a trailing slash, always http://127.0.0.1:<port>/. */
  url: string
  /** Output of every process of the server so far. */
  output(): string
  /** Sends a signal to the server's process group; waits until it has exited, SIGKILL after graceMs (default {@link CLEANUP_GRACE_MS}). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
  readonly running: boolean
}

const servers = new Set<ChaosServer>()
let exitHook = false

/**
 * Starts the service with the README's command on a free port of 127.0.0.1,
 * with {@link CHAOS_KEY} as its admin key and retries capped at 2 s (so a
 * recovery is measured in seconds, not in the default 30 s backoff).
 * `databaseUrl` selects the Postgres store; otherwise PGlite under `dataDir`.
 *
 * @example
 * const server = await startChaosServer({ databaseUrl: await cluster.createDatabase('s1') })
 * try { … } finally { await server.stop() }
 */
export async function startChaosServer(opts: { databaseUrl?: string; dataDir?: string; env?: Record<string, string> } = {}): Promise<ChaosServer> {
  const ownDir = opts.dataDir ? undefined : mkdtempSync(path.join(os.tmpdir(), 'audit-chaos-data-'))
  const env: Record<string, string> = {
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    AUDIT_API_KEYS: `admin:chaos:${CHAOS_KEY}`,
    AUDIT_DATA_DIR: opts.dataDir ?? (ownDir as string),
    AUDIT_STORE: opts.databaseUrl ? 'postgres' : 'pglite',
    DATABASE_URL: opts.databaseUrl ?? '',
    SUPABASE_URL: '',
    SUPABASE_SERVICE_ROLE_KEY: '',
    AUDIT_RETRY_MAX_MS: '2000',
    AUDIT_FLUSH_INTERVAL_MS: '200',
    AUDIT_RETENTION_SCHEDULE: 'off',
    AUDIT_COUNT_CAP: '1000000',
    ...opts.env,
  }
  let base: RunningServer
  const t0 = performance.now()
  try {
    base = await startServer(env)
    // most of a slow suite is here: the start command rebuilds the page each time
    console.log(`chaos: server up on ${base.url} in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  } catch (err) {
    if (ownDir) rmSync(ownDir, { recursive: true, force: true })
    throw err
  }
  let running = true
  let stopping: Promise<void> | undefined
  const server: ChaosServer = {
    url: base.url,
    output: base.output,
    get running() {
      return running
    },
    stop(signal = 'SIGTERM', graceMs = CLEANUP_GRACE_MS) {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined
        const grace = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)))
        if ((await Promise.race([base.stop(signal), grace])) === 'late') await base.stop('SIGKILL')
        clearTimeout(timer)
        running = false
        servers.delete(server)
        if (ownDir) rmSync(ownDir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
  servers.add(server)
  if (!exitHook) {
    exitHook = true
    // base.stop sends its signal synchronously: nothing is left running if afterAll never ran
    process.once('exit', () => {
      for (const s of servers) void s.stop('SIGKILL')
    })
  }
  return server
}

/**
 * The pid of the process listening on a server's port (the service itself,
 * below whatever wrapper the start command runs), from /proc on Linux.
 */
export function listeningPid(server: { url: string }): number | undefined {
  const port = Number(new URL(server.url).port)
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  let inode: string | undefined
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/)
        // local_address ends with :PORT, state 0A is LISTEN
        if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inode = f[9]
      }
    } catch {
      /* no such table */
    }
  }
  if (!inode) return undefined
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return Number(pid)
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return undefined
}

/** SIGKILLs every chaos server still running (for afterAll). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop('SIGKILL')))
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const AUTH = { authorization: `Bearer ${CHAOS_KEY}` }

/** A request to a chaos server with a deadline; a timeout or socket error is a status of its own ("timeout", "ECONNREFUSED"…). */
export async function call(
  server: { url: string },
  pathAndQuery: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number | string; ms: number; json: any; headers: Headers | undefined }> {
  const t0 = performance.now()
  try {
    const res = await fetch(new URL(pathAndQuery, server.url), {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...AUTH, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, ms: performance.now() - t0, json, headers: res.headers }
  } catch (err) {
    return { status: failureName(err), ms: performance.now() - t0, json: undefined, headers: undefined }
  }
}

function failureName(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } }
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return 'timeout'
  return e?.cause?.code ?? e?.code ?? e?.name ?? 'error'
}

/** The `queue` object of GET /health (the library's own counters). */
export type QueueFigures = Omit<QueueStats, 'lastFlushMs'>

export async function health(server: { url: string }, timeoutMs = 5000): Promise<{ status: number | string; queue?: QueueFigures; database?: string }> {
  const r = await call(server, 'health', { timeoutMs, headers: {} })
  return { status: r.status, queue: r.json?.queue, database: r.json?.database }
}

// ---------------------------------------------------------------------------
// Load

/** What the service said about the events it was sent. */
export interface LoadRecord {
  /** id → message, for events answered 201, or 202 without having asked for it (the client was not told "in memory only"). */
  committed: Map<string, string>
  /** id → message, for events answered 202 to `Prefer: respond-async`. */
  async: Map<string, string>
  /** Ids of rows the scenario made the database refuse: they must never be found. */
  poison: Set<string>
  /** Responses by status ("201", "503", "timeout", "ECONNREFUSED", …). */
  statuses: Record<string, number>
  requests: number
  /** Distinct Retry-After values seen on 503s. */
  retryAfter: Set<string>
}

export function newRecord(): LoadRecord {
  return { committed: new Map(), async: new Map(), poison: new Set(), statuses: {}, requests: 0, retryAfter: new Set() }
}

/** One record of two (e.g. the events seeded before a load and the load's own). */
export function mergeRecords(a: LoadRecord, b: LoadRecord): LoadRecord {
  const statuses = { ...a.statuses }
  for (const [k, n] of Object.entries(b.statuses)) statuses[k] = (statuses[k] ?? 0) + n
  return {
    committed: new Map([...a.committed, ...b.committed]),
    async: new Map([...a.async, ...b.async]),
    poison: new Set([...a.poison, ...b.poison]),
    statuses,
    requests: a.requests + b.requests,
    retryAfter: new Set([...a.retryAfter, ...b.retryAfter]),
  }
}

export interface ChaosEvent {
  id: string
  /** Stamped when made, as a client that resends must: a resend is recognised by its id and time. */
  timestamp: string
  source: string
  operation_type: string
  result: 'success' | 'failure' | 'warning'
  message: string
  extra_info: Record<string, unknown>
}

export interface LoadOptions {
  /** Names the events (operation_type) and the row of the report. */
  label: string
  /** Concurrent senders (default 2). */
  workers?: number
  /** Events per request (default 20). */
  batch?: number
  /** At most this many distinct events (default 100,000: time, not count, ends a scenario's stream). */
  maxEvents?: number
  /** And for at most this long (default 120 s). */
  maxMs?: number
  /** Pause between a sender's requests (default 25 ms): a stream, not a flood. */
  pauseMs?: number
  /** Every n-th request asks `Prefer: respond-async` (default 4; 0 never). */
  asyncEvery?: number
  /** How often a batch answered 503 or not at all is sent again with the same ids (default 3). */
  resend?: number
  timeoutMs?: number
  /** Lets a scenario change a batch before it is sent; return the ids it made poison. */
  shape?: (events: ChaosEvent[], seq: number) => string[] | undefined
}

export interface Load {
  record: LoadRecord
  /** Whether a sender is still sending (false once the count or time bound ended the stream). */
  readonly running: boolean
  /** Stops sending; resolves when every sender has had its last answer. */
  stop(): Promise<LoadRecord>
  done: Promise<LoadRecord>
}

/** Builds `n` events of a scenario; ids are the client's, so a batch sent again is the same events. */
export function makeEvents(label: string, seq: number, n: number): ChaosEvent[] {
  const timestamp = new Date().toISOString()
  return Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    timestamp,
    source: 'chaos',
    operation_type: label.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 100),
    result: 'success',
    message: `chaos ${label} ${seq}.${i}`,
    extra_info: { seq, i },
  }))
}

/**
 * Streams batches of events at a server from 127.0.0.1, bounded in count and
 * in time, and records every acknowledged id with its message.
 *
 * @example
 * const load = startLoad(server, { label: 'outage-10s' })
 * await sleep(2000); …; const record = await load.stop()
 */
export function startLoad(server: { url: string }, opts: LoadOptions): Load {
  if (new URL(server.url).hostname !== '127.0.0.1') throw new Error(`load only goes to 127.0.0.1, not ${server.url}`)
  const record = newRecord()
  const o = { workers: 2, batch: 20, maxEvents: 100_000, maxMs: 120_000, pauseMs: 25, asyncEvery: 4, resend: 3, timeoutMs: 10_000, ...opts }
  const until = Date.now() + o.maxMs
  let stopped = false
  let seq = 0
  let sent = 0
  const worker = async () => {
    while (!stopped && Date.now() < until && sent < o.maxEvents) {
      const mySeq = seq++
      const events = makeEvents(o.label, mySeq, Math.min(o.batch, o.maxEvents - sent))
      sent += events.length
      const poison = o.shape?.(events, mySeq) ?? []
      for (const id of poison) record.poison.add(id)
      const prefer = o.asyncEvery > 0 && mySeq % o.asyncEvery === o.asyncEvery - 1
      await sendBatch(server, events, prefer, record, { resend: o.resend, timeoutMs: o.timeoutMs, stopped: () => stopped || Date.now() >= until })
      if (o.pauseMs > 0) await sleep(o.pauseMs)
    }
  }
  let active = o.workers
  const done = Promise.all(Array.from({ length: o.workers }, () => worker().finally(() => active--))).then(() => record)
  return {
    record,
    done,
    get running() {
      return active > 0
    },
    async stop() {
      stopped = true
      return done
    },
  }
}

/** Sends one batch (again after a 503 or no answer, same ids, up to `resend` times) and records the outcome. */
export async function sendBatch(
  server: { url: string },
  events: ChaosEvent[],
  prefer: boolean,
  record: LoadRecord,
  opts: { resend?: number; timeoutMs?: number; stopped?: () => boolean } = {},
): Promise<number | string> {
  let status: number | string = 'unsent'
  for (let attempt = 0; attempt <= (opts.resend ?? 0); attempt++) {
    const r = await call(server, 'api/v1/audit/events', {
      body: { events },
      headers: prefer ? { prefer: 'respond-async' } : {},
      timeoutMs: opts.timeoutMs ?? 10_000,
    })
    status = r.status
    record.requests++
    record.statuses[String(r.status)] = (record.statuses[String(r.status)] ?? 0) + 1
    if (r.status === 201 || r.status === 202) {
      const into = r.status === 202 && prefer ? record.async : record.committed
      const ids: string[] = r.json?.ids ?? []
      const byId = new Map(events.map((e) => [e.id, e.message]))
      for (const id of ids) into.set(id, byId.get(id) ?? '(unknown id)')
      return status
    }
    if (r.status === 503) {
      const ra = r.headers?.get('retry-after')
      if (ra) record.retryAfter.add(ra)
      await sleep(Math.min(1000, Number(ra ?? 1) * 200))
    } else if (typeof r.status === 'number') {
      return status // 4xx: this batch will never be accepted
    }
    if (opts.stopped?.()) break
  }
  return status
}

// ---------------------------------------------------------------------------
// Recovery and checks

/**
 * Polls until the service lists events (within 2 s) and a new event it
 * acknowledged can be read back through the API (so it was written, not
 * only queued), and returns how long that took, or undefined when not
 * within `boundMs`. The probe events count as acknowledged.
 */
export async function waitRecovered(server: { url: string }, record: LoadRecord, boundMs = RECOVER_WITHIN_MS): Promise<number | undefined> {
  const t0 = performance.now()
  const left = () => boundMs - (performance.now() - t0)
  let seq = 0
  let probe: string | undefined
  while (left() > 0) {
    const list = await call(server, 'api/v1/audit/events?limit=1', { timeoutMs: LIST_WITHIN_MS })
    if (list.status === 200) {
      if (!probe) {
        const events = makeEvents('recovery-probe', seq++, 1)
        const status = await sendBatch(server, events, false, record, { timeoutMs: Math.max(1, Math.min(5000, left())) })
        if (status === 201 || status === 202) probe = events[0]?.id
      }
      if (probe && (await call(server, `api/v1/audit/events/${probe}`, { timeoutMs: LIST_WITHIN_MS })).status === 200) {
        return Math.round(performance.now() - t0)
      }
    }
    await sleep(200)
  }
  return undefined
}

export interface ScenarioRow {
  scenario: string
  acknowledged: number
  found: number
  duplicated: number
  busy503: number
  /** ms until the service listed and acknowledged again after the fault; null: did not recover; undefined: not measured. */
  recoveryMs: number | null | undefined
  statuses: Record<string, number>
  queue: QueueFigures | undefined
  /** What broke a promise; empty when the scenario passed. */
  problems: string[]
  notes: string[]
}

export interface CheckOptions {
  scenario: string
  record: LoadRecord
  db: Db
  /** The running server, to wait for an idle queue, check its counters and list within 2 s; omit after it was killed. */
  server?: { url: string } | undefined
  recoveryMs?: number | null | undefined
  /** Whether events answered 202 to `Prefer: respond-async` must be present too (true except after SIGKILL). */
  asyncMustSurvive?: boolean
  /** How long to wait for the queue to empty (default {@link IDLE_WITHIN_MS}, 3 s when recoveryMs is null). */
  idleWithinMs?: number
  notes?: string[]
  /** Runs after the server's checks and before the database is read (e.g. to stop a server that holds an embedded database). */
  beforeDb?: () => Promise<void>
  /** What the scenario found broken itself, reported in the same row. */
  problems?: string[]
}

/**
 * Checks issue 12's promises after a scenario and returns its report row
 * (printed, and appended to $CHAOS_REPORT as JSON lines when set). The
 * test then asserts `row.problems` is empty, so one failure message lists
 * every broken promise.
 */
export async function checkScenario(o: CheckOptions): Promise<ScenarioRow> {
  const problems: string[] = [...(o.problems ?? [])]
  const notes = [...(o.notes ?? [])]
  let queue: QueueFigures | undefined
  if (o.server) {
    const idleWithin = o.idleWithinMs ?? (o.recoveryMs === null ? 3000 : IDLE_WITHIN_MS)
    queue = await waitIdle(o.server, idleWithin)
    if (!queue) problems.push('/health did not answer with its queue figures')
    else {
      if (queue.queueDepth !== 0) problems.push(`the queue did not empty: queueDepth ${queue.queueDepth} after ${idleWithin / 1000} s`)
      const sum = queue.written + queue.dropped + queue.rejected + queue.queueDepth
      if (queue.enqueued !== sum) problems.push(`enqueued ${queue.enqueued} ≠ written ${queue.written} + dropped ${queue.dropped} + rejected ${queue.rejected} + queueDepth ${queue.queueDepth}`)
    }
    const list = await call(o.server, 'api/v1/audit/events?limit=1', { timeoutMs: LIST_WITHIN_MS })
    if (list.status !== 200) problems.push(`a list request afterwards answered ${list.status} (within ${LIST_WITHIN_MS} ms required)`)
  }
  await o.beforeDb?.()

  const must = new Map(o.record.committed)
  if (o.asyncMustSurvive !== false) for (const [id, m] of o.record.async) must.set(id, m)
  const acknowledged = new Map([...o.record.committed, ...o.record.async])
  for (const id of o.record.poison) {
    must.delete(id)
    acknowledged.delete(id)
  }
  const rows = await rowsOf(o.db, [...acknowledged.keys(), ...o.record.poison])
  let found = 0
  let duplicated = 0
  const missing: string[] = []
  const altered: string[] = []
  for (const [id, message] of acknowledged) {
    const got = rows.get(id)
    if (got && got.length > 1) duplicated++
    if (got?.some((m) => m === message)) found++
    else if (got) altered.push(`${id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(message)}`)
    else if (must.has(id)) missing.push(id)
  }
  const poisonFound = [...o.record.poison].filter((id) => rows.has(id))
  if (missing.length) problems.push(`${missing.length} of ${must.size} acknowledged events are not in the database (e.g. ${missing.slice(0, 3).join(', ')})`)
  if (altered.length) problems.push(`${altered.length} events differ from what was sent (e.g. ${altered[0]})`)
  if (duplicated) problems.push(`${duplicated} acknowledged ids are in the database more than once`)
  if (poisonFound.length) problems.push(`${poisonFound.length} poison rows were written`)
  const lostAsync = [...o.record.async.keys()].filter((id) => !rows.has(id) && !o.record.poison.has(id)).length
  if (o.asyncMustSurvive === false && lostAsync) notes.push(`${lostAsync} events answered 202 to Prefer: respond-async were lost (allowed)`)

  if (o.recoveryMs === null) problems.push('the service did not recover by itself')

  const row: ScenarioRow = {
    scenario: o.scenario,
    acknowledged: acknowledged.size,
    found,
    duplicated,
    busy503: o.record.statuses['503'] ?? 0,
    recoveryMs: o.recoveryMs,
    statuses: o.record.statuses,
    queue,
    problems,
    notes,
  }
  report(row)
  return row
}

/** Waits until /health reports an empty queue; the last figures it gave (or undefined if it never answered). */
export async function waitIdle(server: { url: string }, boundMs: number): Promise<QueueFigures | undefined> {
  const until = Date.now() + boundMs
  let last: QueueFigures | undefined
  for (;;) {
    const h = await health(server, 3000)
    if (h.queue) last = h.queue
    if (last?.queueDepth === 0 || Date.now() >= until) return last
    await sleep(250)
  }
}

/** id → the messages stored under it (more than one means duplicated). */
async function rowsOf(db: Db, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000)
    const rows = await db.query<{ id: string; message: string | null }>('select id::text as id, message from public.audit_events where id = any($1::uuid[])', [chunk])
    for (const r of rows) out.set(r.id, [...(out.get(r.id) ?? []), r.message ?? ''])
  }
  return out
}

/** A row of the table in docs/chaos.md. */
export function formatRow(r: ScenarioRow): string {
  const rec = r.recoveryMs === undefined ? '–' : r.recoveryMs === null ? 'none' : `${(r.recoveryMs / 1000).toFixed(1)} s`
  const verdict = r.problems.length ? `FAIL: ${r.problems.join('; ')}` : 'pass'
  return `| ${r.scenario} | ${r.acknowledged} | ${r.found} | ${r.duplicated} | ${r.busy503} | ${rec} | ${verdict} |`
}

function report(row: ScenarioRow): void {
  console.log(
    `chaos ${formatRow(row)}\n  statuses ${JSON.stringify(row.statuses)} queue ${JSON.stringify(row.queue ?? null)}${row.notes.length ? `\n  ${row.notes.join('\n  ')}` : ''}`,
  )
  const file = process.env.CHAOS_REPORT
  if (file) appendFileSync(file, JSON.stringify(row) + '\n')
}

/** A new database on a chaos cluster for one scenario: its URL for the server, and a {@link Db} on it for the checks. */
export async function freshDatabase(cluster: ChaosCluster, name: string): Promise<{ url: string; db: Db }> {
  const url = await cluster.createDatabase(name)
  return { url, db: { query: (text, params) => cluster.query(text, params, name) } }
}

/**
 * A cluster for the describe block it is called in: started before its
 * tests, and after them every server the block started is stopped and the
 * cluster destroyed. `use` receives it.
 *
 * @example
 * let cluster!: ChaosCluster
 * withSuiteCluster((c) => (cluster = c))
 */
export function withSuiteCluster(use: (cluster: ChaosCluster) => void): void {
  let cluster: ChaosCluster | undefined
  beforeAll(async () => {
    cluster = await startCluster()
    use(cluster)
  })
  afterAll(async () => {
    await stopAllServers()
    await cluster?.destroy()
  })
}
