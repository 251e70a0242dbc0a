import { writeSync } from 'node:fs'
import pino from 'pino'
import type { AuditConfig } from './config.ts'
import { getAuditContext } from './context.ts'
import { jsonSnapshot } from './json-snapshot.ts'
import { onProcessExit } from './on-exit.ts'
import type { Backoff } from './queue/backoff.ts'
import { BatchQueue, RejectedEventError, type QueueLog, type QueueStats, type ShutdownReport, type SubmitOutcome } from './queue/batch-queue.ts'
import {
  EventInputSchema,
  acceptsAsIs,
  severityForResult,
  type ActorType,
  type EventRow,
  type Result,
  type Severity,
} from './schema/event.ts'
import { TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from './schema/columns.ts'
import { eventTimestamp } from './schema/time.ts'
import { sqlStateKind, type AuditStore } from './stores/store.ts'
import { newEventId } from './uuid7.ts'

/** One event as application code records it (camelCase; the wire form is snake_case). */
export interface LogEventInput {
  operationType: string
  result: Result
  operator?: string | null
  message?: string | null
  extraInfo?: Record<string, unknown> | null
  /** Default: the logger's `source` (`api-service`). */
  source?: string
  /** Default derived from result. */
  severity?: Severity
  tenantId?: string | null
  actorType?: ActorType | null
  resourceType?: string | null
  resourceId?: string | null
  requestId?: string | null
  ipAddress?: string | null
  userAgent?: string | null
  /** When it happened; default now. */
  timestamp?: Date | string | number
  /** Your own id (UUID) to make a re-sent event idempotent; default a new UUIDv7. */
  id?: string
}

/** What `auditOperation` records about the operation; the callback may add to it. */
export type OperationInput = Omit<LogEventInput, 'result' | 'timestamp' | 'id'>

/** Handed to the `auditOperation` callback to enrich the event it will record. */
export interface OperationHandle {
  /** Merged into extra_info. */
  extraInfo: Record<string, unknown>
  /** Override fields of the event (e.g. a message, a resource id, or `result: 'warning'`). */
  set(fields: Partial<Omit<LogEventInput, 'operationType' | 'timestamp' | 'id'>>): void
}

export interface AuditLoggerOptions extends Partial<AuditConfig> {
  store: AuditStore
  /** Source of events that name none (default `api-service`). */
  source?: string
  /** Where the logger reports drops, rejections and failures (default: pino on stderr). */
  log?: QueueLog
  /** Called after each batch write with its duration (for metrics). */
  onFlush?: (ms: number, rows: number) => void
  /** The wait before each retry of a failed write (default: full jitter over AUDIT_RETRY_BASE_MS·2^n, capped at AUDIT_RETRY_MAX_MS); see queue/backoff.ts. */
  backoff?: Backoff
}

export interface IngestOptions {
  /** Answer once the rows are queued instead of once they are committed (`Prefer: respond-async`). */
  respondAsync?: boolean
  /** How long to wait for room and then for the commit (default AUDIT_INGEST_WAIT_MS). */
  waitMs?: number
}

/** What became of events handed to {@link AuditLogger.ingest}; `disabled` when AUDIT_LOGGING_ENABLED is false (nothing is written). */
export type IngestOutcome = SubmitOutcome | { status: 'disabled' }

export interface AuditLogger {
  /**
   * Records one event. Never throws and, in async mode, never waits for the
   * database. Resolves to the event's id, or null when logging is disabled or
   * the event was dropped (queue full) or rejected in sync mode.
   */
  logEvent(event: LogEventInput): Promise<string | null>
  /**
   * Runs `fn`, timing it. Records `success` with `extra_info.duration_ms`, or
   * on a throw `failure` with `extra_info.error` ({name, message}) and
   * `duration_ms`, then rethrows the very same error.
   */
  auditOperation<T>(operation: OperationInput, fn: (op: OperationHandle) => Promise<T> | T): Promise<T>
  /**
   * Takes events that were already validated (the HTTP ingest path) as one
   * request: all of them are written or none. They share batches with other
   * requests (group commit) and are never split across batches. Resolves
   * `written` once every one is committed; with `respondAsync`, `queued` at
   * once, and the events are then each on their own (a row the database
   * refuses is rejected alone);
   * `refused` when the database refused one of them for its data (none is
   * written), `unavailable` when there was no room, or no commit, within
   * the wait (none is written, nor ever will be: they are withdrawn). Never
   * rejects. The same in sync and async mode.
   */
  ingest(rows: EventRow[], options?: IngestOptions): Promise<IngestOutcome>
  /** Writes everything queued so far. */
  flush(): Promise<void>
  /** Stops accepting events and writes what is queued within the deadline (default AUDIT_SHUTDOWN_DEADLINE_MS). */
  shutdown(options?: { deadlineMs?: number }): Promise<ShutdownReport>
  stats(): QueueStats
  readonly enabled: boolean
  readonly async: boolean
  readonly store: AuditStore
}

/**
 * A queued event as it was at the call: the row's fields with the request
 * context and defaults applied, extra_info copied (jsonSnapshot), the id,
 * and the time as a number or the caller's text. Validated off the
 * caller's path (toRow).
 */
interface Pending {
  c: Record<string, unknown>
  id: string
  ts: number | string
}

const DEFAULTS = {
  enabled: true,
  async: true,
  queueSize: 1000,
  batchSize: 100,
  flushIntervalMs: 1000,
  writeConcurrency: 2,
  retryBaseMs: 200,
  retryMaxMs: 30_000,
  shutdownDeadlineMs: 10_000,
  ingestWaitMs: 5_000,
}

/**
 * Creates the audit logger: `logEvent`, `auditOperation` and the batching queue in front of a store.
 *
 * @example
 * const audit = createAuditLogger({ store, ...loadConfig(process.env) })
 * await audit.logEvent({ operationType: 'stock_price_download', result: 'success', operator: user.email,
 *   message: `Downloaded ${symbol}`, extraInfo: { symbol, records_count: 100 } })
 * const rows = await audit.auditOperation({ operationType: 'scan_process', extraInfo: { scan_id } }, () => runScan())
 */
export function createAuditLogger(options: AuditLoggerOptions): AuditLogger {
  const cfg = { ...DEFAULTS, ...stripUndefined(options) }
  const store = options.store
  const defaultSource = options.source ?? 'api-service'
  const log = options.log ?? pino({ name: 'audit' }, pino.destination(2))

  const queue = new BatchQueue<Pending, EventRow>({
    capacity: cfg.queueSize,
    batchSize: cfg.batchSize,
    flushIntervalMs: cfg.flushIntervalMs,
    concurrency: cfg.writeConcurrency,
    retryBaseMs: cfg.retryBaseMs,
    retryMaxMs: cfg.retryMaxMs,
    prepare: toRow,
    write: (rows) => store.insertEvents(rows),
    isDataError: (err) => store.isDataError(err),
    isMisconfigured: (err) => sqlStateKind((err as { code?: unknown } | null)?.code) === 'misconfigured',
    locate: locateRow,
    idOf: (item) => item.id,
    describe: describeEvent,
    log,
    ...(options.onFlush ? { onFlush: options.onFlush } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  })
  // A script that forgets shutdown() still writes what it queued (see exitHandlers).
  const unregisterExit = cfg.enabled ? onProcessExit(queue, exitHandlers(cfg.shutdownDeadlineMs)) : () => {}

  async function logEvent(event: LogEventInput): Promise<string | null> {
    if (!cfg.enabled) return null
    let pending: Pending
    try {
      pending = snapshot(event, defaultSource)
    } catch (err) {
      // a getter that throws, a cycle, a BigInt: the event cannot be recorded as given
      queue.rejectNow({ operation_type: (event as Partial<LogEventInput> | null)?.operationType }, err)
      return null
    }
    if (cfg.async) return queue.enqueue(pending) ? pending.id : null
    return (await queue.writeNow(pending)) ? pending.id : null
  }

  async function auditOperation<T>(operation: OperationInput, fn: (op: OperationHandle) => Promise<T> | T): Promise<T> {
    const extraInfo: Record<string, unknown> = { ...operation.extraInfo }
    let overrides: Partial<LogEventInput> = {}
    const handle: OperationHandle = {
      extraInfo,
      set(fields) {
        overrides = { ...overrides, ...fields }
      },
    }
    const t0 = performance.now()
    try {
      const value = await fn(handle)
      const duration_ms = round(performance.now() - t0)
      await logEvent({ result: 'success', ...operation, ...overrides, extraInfo: { ...extraInfo, ...overrides.extraInfo, duration_ms } })
      return value
    } catch (err) {
      const duration_ms = round(performance.now() - t0)
      const e = err instanceof Error ? err : new Error(String(err))
      await logEvent({
        ...operation,
        message: operation.message ?? e.message,
        ...overrides,
        result: 'failure',
        extraInfo: { ...extraInfo, ...overrides.extraInfo, duration_ms, error: { name: e.name, message: e.message } },
      })
      throw err
    }
  }

  async function ingest(rows: EventRow[], o: IngestOptions = {}): Promise<IngestOutcome> {
    if (!cfg.enabled) return { status: 'disabled' }
    return queue.submit(rows, { awaitCommit: !o.respondAsync, waitMs: o.waitMs ?? cfg.ingestWaitMs })
  }

  return {
    logEvent,
    auditOperation,
    ingest,
    flush: () => queue.flush(),
    shutdown: (o) => {
      unregisterExit()
      return queue.shutdown({ deadlineMs: o?.deadlineMs ?? cfg.shutdownDeadlineMs })
    },
    stats: () => queue.stats(),
    enabled: cfg.enabled,
    async: cfg.async,
    store,
  }
}

/**
 * The event as it is at the call, so that the caller may change or reuse
 * its objects afterwards (as pino serialises at the call): every field is
 * read now, the request context included, and extra_info is copied as JSON
 * would carry it. Strings are immutable; a Date is read as its time.
 */
function snapshot(e: LogEventInput, defaultSource: string): Pending {
  const ctx = getAuditContext()
  const result = e.result
  const x = e.extraInfo
  const c: Record<string, unknown> = {
    source: e.source ?? defaultSource,
    operator: e.operator ?? ctx?.operator ?? null,
    operation_type: e.operationType,
    result,
    message: e.message ?? null,
    extra_info: x == null ? null : jsonSnapshot(x),
    severity: e.severity ?? (typeof result === 'string' ? severityForResult(result) : undefined),
    tenant_id: e.tenantId ?? ctx?.tenantId ?? null,
    actor_type: e.actorType ?? ctx?.actorType ?? null,
    resource_type: e.resourceType ?? null,
    resource_id: e.resourceId ?? null,
    request_id: e.requestId ?? ctx?.requestId ?? null,
    ip_address: e.ipAddress ?? ctx?.ipAddress ?? null,
    user_agent: e.userAgent ?? ctx?.userAgent ?? null,
  }
  // an id or time made here is valid by construction; only the caller's are checked (toRow)
  const id = e.id
  if (id !== undefined) c.id = id
  const ts = e.timestamp
  return { c, id: id ?? newEventId(), ts: ts === undefined ? Date.now() : ts instanceof Date ? ts.getTime() : ts }
}

/**
 * What a log line says about a rejected event: which one (id, request_id)
 * and what it was (source, operation_type), never what it carried
 * (operator, message, extra_info, addresses). Only short strings are kept:
 * a rejected event's fields may be anything.
 */
function describeEvent(item: Pending | EventRow | Record<string, unknown>): Record<string, string> {
  const fields = ('c' in item && item.c && typeof item.c === 'object' ? { ...item.c, id: item.id } : item) as Record<string, unknown>
  const out: Record<string, string> = {}
  for (const k of ['id', 'source', 'operation_type', 'request_id']) {
    const v = fields[k]
    if (typeof v === 'string') out[k] = v.length > 200 ? `${v.slice(0, 200)}…` : v
  }
  return out
}

/** Validates a queued event into a database row; throws {@link RejectedEventError} with the reasons. */
function toRow(p: Pending): EventRow {
  const timestamp = toIso(p.ts)
  const candidate = p.c
  if (timestamp === undefined) candidate.timestamp = String(p.ts)
  let row: EventRow
  if (acceptsAsIs(candidate)) {
    row = candidate as EventRow
  } else {
    const parsed = EventInputSchema.safeParse(candidate)
    if (!parsed.success) {
      throw new RejectedEventError(
        parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; '),
      )
    }
    row = parsed.data as EventRow
  }
  row.id = p.id
  if (timestamp !== undefined) row.timestamp = timestamp
  return row
}

// Events logged in the same millisecond share one ISO string.
let isoMs = Number.NaN
let isoText = ''

/**
 * The ISO form of a time the column takes (years 1 to 9999, a real calendar
 * date: the one rule of schema/time.ts), or undefined (the schema then says
 * what is wrong with it).
 */
function toIso(ts: number | string): string | undefined {
  if (typeof ts === 'string') return eventTimestamp(ts)
  const ms = ts
  if (!(ms >= TIMESTAMP_MIN_MS && ms <= TIMESTAMP_MAX_MS)) return undefined
  if (ms !== isoMs) {
    isoMs = ms
    isoText = new Date(ms).toISOString()
  }
  return isoText
}

/**
 * The exit flush, as pino's: when the event loop empties with events queued
 * (a script that forgot shutdown()), shut the queue down, which writes them
 * within AUDIT_SHUTDOWN_DEADLINE_MS (what it cannot write is logged as its
 * shutdown error); if the process exits with events still queued
 * (process.exit() before the loop emptied), say on stderr how many were
 * lost. The handlers receive the queue and keep no reference to it.
 */
function exitHandlers(deadlineMs: number) {
  return {
    beforeExit(queue: BatchQueue<Pending, EventRow>) {
      if (queue.depth > 0) void queue.shutdown({ deadlineMs })
    },
    exit(queue: BatchQueue<Pending, EventRow>) {
      const n = queue.depth
      if (n === 0) return
      try {
        writeSync(2, `audit: ${n} event${n === 1 ? ' was' : 's were'} never written: the process exited with them queued (await audit.shutdown() before exiting)\n`)
      } catch {
        // stderr is gone: nothing left to tell
      }
    },
  }
}

/** The row of a refused request whose id the database's error names (a CHECK's "Failing row contains (…)"), when exactly one does. */
function locateRow(err: unknown, rows: readonly EventRow[]): number | null {
  if (!err || typeof err !== 'object') return null
  const e = err as Record<string, unknown>
  const text = [e.message, e.detail, e.details, e.where, e.hint].filter((v) => typeof v === 'string').join('\n')
  let found: number | null = null
  for (let i = 0; i < rows.length; i++) {
    if (!text.includes((rows[i] as EventRow).id)) continue
    if (found !== null) return null
    found = i
  }
  return found
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
