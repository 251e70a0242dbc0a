import type { AuditEvent, EventRow } from '../schema/event.ts'
import { dbTimestamp } from '../schema/time.ts'
import type { EventFilters, EventPage, EventQuery, EventStats, SortOrder, StatsQuery } from '../schema/query.ts'
import type { Checkpoint, SignedCheckpoint } from '../trail/signing.ts'

export type StoreKind = 'pglite' | 'postgres' | 'supabase'

/**
 * The storage contract. Every store calls the same SQL functions
 * (supabase/migrations), so query semantics live in the database and one
 * conformance suite (stores/conformance.ts) runs against each store.
 */
export interface AuditStore {
  readonly kind: StoreKind
  /** Largest page the store can return in one call (PostgREST caps responses); none when unset. */
  readonly maxPageSize?: number
  /**
   * Writes a batch; idempotent on id (a re-sent event is not written twice).
   * Resolves to the number of rows newly written. Rejects with an error that
   * {@link AuditStore.isDataError} classifies.
   */
  insertEvents(rows: readonly EventRow[]): Promise<number>
  /** One page of events that match, with their total (an estimate past `countCap`). */
  queryEvents(query: EventQuery): Promise<EventPage<AuditEvent>>
  /**
   * Every matching event as the export's CSV (csv.ts), header included, made
   * by the database. Stores without it are exported page by page with
   * `eventsToCsv`, to the same bytes. Cancelling the stream stops the query.
   */
  exportCsv?(filters: EventFilters, order: SortOrder): ReadableStream<Uint8Array>
  /**
   * Runs `job` unless another process of the cluster holds the lock `key`
   * (a Postgres session advisory lock, on a connection of its own): true
   * when it ran, false when another holder had it. Absent where one process
   * owns the database (PGlite) or no lock can be taken (Supabase over HTTP).
   */
  runExclusive?(key: string, job: () => Promise<void>): Promise<boolean>
  /** One event, or null. */
  getEvent(id: string): Promise<AuditEvent | null>
  /** Counts by result, type, source, severity, a histogram, and optionally the top values of an extra_info key. */
  stats(query: StatsQuery): Promise<EventStats>
  /**
   * Deletes at most `limit` matching events (oldest first) and returns how
   * many; the only way rows leave the table. Call {@link deleteInChunks}.
   */
  deleteEvents(filters: EventFilters, limit: number, reason?: string): Promise<number>
  /**
   * True when the database refused the rows themselves: the error carries a
   * SQLSTATE that {@link isDataSqlState} calls a data error (22, 23, a
   * trigger's P0001, XX000, …), so splitting the batch isolates the bad
   * event. False for everything worth retrying as it is: no SQLSTATE
   * (network, timeouts, driver codes such as ECONNREFUSED), a lost or
   * overloaded server, and a misconfigured store (see {@link sqlStateKind}).
   * Implement it with `isDataSqlState(err.code)`, the one classifier.
   */
  isDataError(err: unknown): boolean
  /**
   * What the operator should hear once, when the store opens: something this
   * database lacks and what it costs (a server without pg_trgm searches `q`
   * without an index). Empty or absent when there is nothing to say.
   */
  readonly warnings?: readonly string[]
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>
  /**
   * Whether the events table is partitioned by time (pg_partman, where the
   * server has it) and, when not, why (audit_partitioning).
   */
  partitioning?(): Promise<PartitioningStatus>
  /**
   * One step of partition maintenance, its own transaction: moves the oldest
   * day of rows the default partition holds to that day's partition, and
   * once none is left makes the coming days' partitions (pg_partman's
   * maintenance); a no-op unpartitioned. {@link maintainPartitions} calls it
   * until the backlog is gone.
   */
  maintainPartitions?(): Promise<PartitioningStatus>
  /**
   * Retention by partition: drops the oldest partition whose rows are all
   * older than `before` (one a call, each call its own transaction),
   * recording its rows in the trail as deleted with `reason`. Call again
   * until it drops none; drops nothing unpartitioned.
   */
  dropPartitions?(before: Date, reason: string): Promise<PartitionDrop>
  /** The trail's checkpoints, signatures and erasure (the audit_trail_* and audit_erase_event functions); every store here has it, test doubles may not. */
  readonly trail?: TrailStore
}

/** What audit_partitioning says about the events table. */
export interface PartitioningStatus {
  partitioned: boolean
  /** `pg_partman <version>` when it manages the table. */
  manager: string | null
  /** The partition interval (`1 day`). */
  interval?: string | null
  /** Partitions, the default one not counted. */
  partitions?: number
  /** Lower bound of the oldest partition with one (ISO), null when it holds everything before. */
  oldest?: string | null
  /** Upper bound of the newest partition made ahead (ISO). */
  premade_until?: string | null
  /** Why the table is not partitioned (or not managed); null when all is well. */
  reason: string | null
  /** After a maintenance step: the rows it moved out of the default partition. */
  moved?: number
  /** After a maintenance step: rows are left in the default partition (call again). */
  backlog?: boolean
}

/** What audit_drop_partitions did. */
export interface PartitionDrop {
  /** The partitions dropped, oldest first. */
  partitions: string[]
  /** Rows dropped by severity. */
  deleted: Record<string, number>
  total: number
}

/** The trail's database API, the same functions on every store. */
export interface TrailStore {
  /** Checkpoints after seq `after`, at most `limit` (≤ 10000), in seq order. */
  checkpoints(after: number, limit: number): Promise<Checkpoint[]>
  /** Every recorded signature, in seq order. */
  signatures(): Promise<SignedCheckpoint[]>
  /** The newest checkpoint (seq 0 before the first) and the newest signed seq. */
  head(): Promise<{ seq: number; hash: string; signed_seq: number | null }>
  /** Records a signature; true when this call recorded it, false when the checkpoint was signed already. */
  recordSignature(s: SignedCheckpoint): Promise<boolean>
  /** Erases free-text fields of one event, keeping their commitments; the erase checkpoint's seq, or null when there is no such event. */
  eraseEvent(id: string, fields: readonly string[], reason: string): Promise<number | null>
}

/**
 * Deletes every matching event in chunks of `chunk`, each its own short
 * transaction, so no lock is held for long; `reason` is recorded in the
 * trail's delete checkpoints. Returns the number deleted.
 */
export async function deleteInChunks(store: AuditStore, filters: EventFilters, chunk = 5000, reason?: string): Promise<number> {
  let total = 0
  for (;;) {
    const n = await store.deleteEvents(filters, chunk, reason)
    total += n
    if (n < chunk) return total
  }
}

/**
 * Partition maintenance to the end: {@link AuditStore.maintainPartitions}
 * until the default partition is empty (or a step moves nothing), each step
 * its own short transaction, so a backfill of many days never holds the
 * table for more than one day's rows. Undefined where the store has no
 * partitions to maintain.
 */
export async function maintainPartitions(store: AuditStore): Promise<PartitioningStatus | undefined> {
  if (!store.maintainPartitions) return undefined
  for (;;) {
    const s = await store.maintainPartitions()
    if (!s.backlog || !s.moved) return s
  }
}

/**
 * Runs `job` once per cluster: where the store can take a lock
 * ({@link AuditStore.runExclusive}) the process that takes it runs `job` and
 * the others get undefined; where it cannot, `job` runs here.
 *
 * @example
 * await runOncePerCluster(store, 'audit_events.retention', () => runRetention(store, audit, policy))
 */
export async function runOncePerCluster<T>(store: AuditStore, key: string, job: () => Promise<T>): Promise<T | undefined> {
  if (!store.runExclusive) return job()
  let out: T | undefined
  await store.runExclusive(key, async () => {
    out = await job()
  })
  return out
}

/**
 * The rows in the order of their ids (a uuid's order is its lowercase
 * text's), as every store writes a batch. Two writers whose batches share
 * ids (replicas that were each sent the same events, in different requests
 * or orders) wait at the unique index for each other's uncommitted rows: in
 * the same order one waits for the other to finish and then skips what it
 * wrote; in opposite orders each would wait for the other, a deadlock that
 * the server breaks only after deadlock_timeout (1 s) by failing one of the
 * writes. Rows without an id (the insert function makes one) come first.
 * The array itself when it is in order already.
 */
export function inIdOrder<T extends { id?: string | null | undefined }>(rows: readonly T[]): readonly T[] {
  const key = (r: T) => r.id?.toLowerCase() ?? ''
  for (let i = 1; i < rows.length; i++) {
    if (key(rows[i - 1] as T) > key(rows[i] as T)) {
      return rows
        .map((r) => ({ k: key(r), r }))
        .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
        .map(({ r }) => r)
    }
  }
  return rows
}

/** What audit_total_events returns. */
export interface TotalJson {
  total: number | string
  exact: boolean
}
export const NO_TOTAL: TotalJson = { total: -1, exact: true }

/**
 * What an error code says about a failed write:
 * - `transient`: the database could not take the batch now — no SQLSTATE at
 *   all (a network error, a timeout, a driver code such as `ECONNREFUSED` or
 *   `CONNECTION_CLOSED`), or a SQLSTATE of a lost connection (08), too few
 *   resources (53), an operator intervention, shutdown or statement timeout
 *   (57), a failed or read-only transaction (25, e.g. a standby after a
 *   failover), a prepared statement the pooler lost (26), a serialization
 *   failure or deadlock (40), a lock or object not available (55, e.g.
 *   55P03), a system I/O error (58) or a snapshot too old (72);
 * - `misconfigured`: the store, not the row, is wrong — authentication (28),
 *   a missing database or schema (3D, 3F), a missing table, function or
 *   privilege (42), a feature the server or pooler lacks (0A). Rejecting
 *   rows would lose every one of them, so these are retried (and warned
 *   about) until an operator fixes the store;
 * - `data`: any other SQLSTATE (22, 23, a trigger's P0001, 54, XX…): the
 *   database refused something in the rows; the batch is split to find it.
 *
 * @example
 * sqlStateKind('23514') // 'data'
 * sqlStateKind('57P01') // 'transient'
 * sqlStateKind('ECONNREFUSED') // 'transient'
 */
export function sqlStateKind(code: unknown): 'data' | 'transient' | 'misconfigured' {
  if (!isSqlState(code)) return 'transient'
  const cls = code.slice(0, 2)
  if (MISCONFIGURED_CLASSES.has(cls)) return 'misconfigured'
  if (TRANSIENT_CLASSES.has(cls)) return 'transient'
  return 'data'
}

/** True for a SQLSTATE: five digits or capitals; no class starts with E, so Node's EPIPE or EPERM is not one. */
export function isSqlState(code: unknown): code is string {
  return typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code)
}

const TRANSIENT_CLASSES: ReadonlySet<string> = new Set(['08', '25', '26', '40', '53', '55', '57', '58', '72'])
const MISCONFIGURED_CLASSES: ReadonlySet<string> = new Set(['0A', '28', '3D', '3F', '42'])

/**
 * A read the store could not serve now (the database unreachable, timed
 * out, shutting down, or misconfigured): the caller should retry later. The
 * API answers it with 503 and `Retry-After`, not 500.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** The error itself, or a {@link StoreUnavailableError} around it when it is not about the query (see {@link sqlStateKind}). */
export function unavailableUnlessData(err: unknown): unknown {
  if (err instanceof Error && sqlStateKind((err as { code?: unknown }).code) !== 'data') {
    return new StoreUnavailableError(`the audit store is unavailable: ${err.message}`, { cause: err })
  }
  return err
}

/**
 * True when an error code is a SQLSTATE about the rows themselves (see
 * {@link sqlStateKind}): split the batch to isolate the bad row; anything
 * else is retried.
 */
export function isDataSqlState(code: unknown): boolean {
  return sqlStateKind(code) === 'data'
}

/** Normalizes a row as any driver returns it to the API's event form (timestamps keep their microseconds: see dbTimestamp). */
export function toAuditEvent(row: Record<string, unknown>): AuditEvent {
  return {
    id: row.id as string,
    timestamp: dbTimestamp(row.timestamp as string | Date),
    source: row.source as string,
    operator: (row.operator as string | null) ?? null,
    operation_type: row.operation_type as string,
    result: row.result as AuditEvent['result'],
    message: (row.message as string | null) ?? null,
    extra_info: (row.extra_info as Record<string, unknown> | null) ?? null,
    severity: row.severity as AuditEvent['severity'],
    tenant_id: (row.tenant_id as string | null) ?? null,
    actor_type: (row.actor_type as AuditEvent['actor_type']) ?? null,
    resource_type: (row.resource_type as string | null) ?? null,
    resource_id: (row.resource_id as string | null) ?? null,
    request_id: (row.request_id as string | null) ?? null,
    ip_address: (row.ip_address as string | null) ?? null,
    user_agent: (row.user_agent as string | null) ?? null,
  }
}
