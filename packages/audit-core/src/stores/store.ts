import type { AuditEvent, EventRow } from '../schema/event.ts'
import type { EventFilters, EventPage, EventQuery, EventStats, SortOrder, StatsQuery } from '../schema/query.ts'

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
  /** One event, or null. */
  getEvent(id: string): Promise<AuditEvent | null>
  /** Counts by result, type, source, severity, a histogram, and optionally the top values of an extra_info key. */
  stats(query: StatsQuery): Promise<EventStats>
  /**
   * Deletes at most `limit` matching events (oldest first) and returns how
   * many; the only way rows leave the table. Call {@link deleteInChunks}.
   */
  deleteEvents(filters: EventFilters, limit: number): Promise<number>
  /**
   * True when the database refused the rows themselves (SQLSTATE class 22 or
   * 23): splitting the batch isolates the bad event. Anything else (network,
   * 5xx, connection) is transient and worth a retry.
   */
  isDataError(err: unknown): boolean
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>
}

/**
 * Deletes every matching event in chunks of `chunk`, each its own short
 * transaction, so no lock is held for long. Returns the number deleted.
 */
export async function deleteInChunks(store: AuditStore, filters: EventFilters, chunk = 5000): Promise<number> {
  let total = 0
  for (;;) {
    const n = await store.deleteEvents(filters, chunk)
    total += n
    if (n < chunk) return total
  }
}

/** Data exceptions (22) and integrity constraint violations (23). */
/** What audit_total_events returns. */
export interface TotalJson {
  total: number | string
  exact: boolean
}
export const NO_TOTAL: TotalJson = { total: -1, exact: true }

export function isDataSqlState(code: unknown): boolean {
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)
}

/** Normalizes a row as any driver returns it to the API's event form. */
export function toAuditEvent(row: Record<string, unknown>): AuditEvent {
  const ts = row.timestamp
  return {
    id: row.id as string,
    timestamp: (ts instanceof Date ? ts : new Date(ts as string)).toISOString(),
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
