import type { SupabaseClient } from '@supabase/supabase-js'
import type { Checkpoint, SignedCheckpoint } from '../trail/signing.ts'
import { loadDriver } from './driver.ts'
import type { AuditEvent, EventRow } from '../schema/event.ts'
import type { EventFilters, EventPage, EventQuery, EventStats, StatsQuery } from '../schema/query.ts'
import { NO_TOTAL, inIdOrder, isDataSqlState, toAuditEvent, type AuditStore, type PartitionDrop, type PartitioningStatus, type TotalJson } from './store.ts'

export interface SupabaseStoreOptions {
  /** SUPABASE_URL */
  url: string
  /** SUPABASE_SERVICE_ROLE_KEY: server side only; never send it to a browser. */
  serviceRoleKey: string
  /** For tests and custom transports. */
  fetch?: typeof fetch
}

/** A PostgREST error (`{code, message, details, hint}`), thrown so that the queue can classify it. */
export class SupabaseRpcError extends Error {
  override name = 'SupabaseRpcError'
  constructor(
    readonly fn: string,
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: string | null,
    readonly hint?: string | null,
  ) {
    super(`${fn}: ${message}${code ? ` (${code})` : ''}`)
  }
}

const STORE = 'Supabase store'

// PostgREST caps a response at db-max-rows (1000 on Supabase by default), RPC results included.
const MAX_PAGE = 1000

/**
 * The store on a Supabase project, through supabase-js `rpc(...)` on the same
 * SQL functions the other stores call. The client keeps no session and
 * refreshes no token: it is a server-side service-role client.
 *
 * @example
 * const store = await openSupabaseStore({ url: process.env.SUPABASE_URL!, serviceRoleKey: process.env.SUPABASE_SERVICE_ROLE_KEY! })
 */
export async function openSupabaseStore(options: SupabaseStoreOptions): Promise<AuditStore & { client: SupabaseClient }> {
  const { createClient } = await loadDriver('@supabase/supabase-js', STORE, () => import('@supabase/supabase-js'))
  // Never used (no subscriptions), but supabase-js builds its realtime client up front, and Node 20 has no WebSocket of its own.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the DOM types say always; Node 20 has none
  const transport = globalThis.WebSocket ?? (await loadDriver('ws', `${STORE} on Node 20`, () => import('ws'))).default
  const client = createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { 'x-client-info': 'audit-events' }, ...(options.fetch ? { fetch: options.fetch } : {}) },
    realtime: { transport: transport },
  })

  async function rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    const res = await client.rpc(fn, args)
    if (res.error) throw new SupabaseRpcError(fn, res.error.code, res.error.message, res.status, res.error.details, res.error.hint)
    return res.data as T
  }

  return {
    kind: 'supabase',
    maxPageSize: MAX_PAGE,
    client,
    async insertEvents(rows: readonly EventRow[]) {
      if (rows.length === 0) return 0
      return await rpc<number>('audit_insert_events', { p_events: inIdOrder(rows) })
    },
    async queryEvents(query: EventQuery): Promise<EventPage<AuditEvent>> {
      if (query.limit > MAX_PAGE) throw new RangeError(`the supabase store pages at most ${MAX_PAGE} rows (PostgREST max rows)`)
      const [rows, total] = await Promise.all([
        query.limit > 0
          ? rpc<Record<string, unknown>[]>('audit_query_events', {
              p_filters: query.filters,
              p_limit: query.limit,
              p_offset: query.offset ?? 0,
              p_order: query.order ?? 'desc',
              p_after: query.after ?? null,
            })
          : Promise.resolve([]),
        query.withTotal !== false
          ? rpc<TotalJson>('audit_total_events', { p_filters: query.filters, p_cap: query.countCap ?? null })
          : Promise.resolve(NO_TOTAL),
      ])
      return { events: rows.map(toAuditEvent), total: Number(total.total), totalExact: total.exact }
    },
    async getEvent(id: string) {
      const rows = await rpc<Record<string, unknown>[]>('audit_get_event', { p_id: id })
      return rows[0] ? toAuditEvent(rows[0]) : null
    },
    stats: (query: StatsQuery) => rpc<EventStats>('audit_stats', { p_filters: query.filters, p_bucket: query.bucket, p_group_by: query.groupBy?.join(',') ?? null }),
    deleteEvents: (filters: EventFilters, limit: number, reason?: string) =>
      rpc<number>('audit_delete_events', { p_filters: filters, p_limit: limit, p_reason: reason ?? null }),
    partitioning: () => rpc<PartitioningStatus>('audit_partitioning', {}),
    maintainPartitions: () => rpc<PartitioningStatus>('audit_partition_maintenance', {}),
    dropPartitions: (before: Date, reason: string) => rpc<PartitionDrop>('audit_drop_partitions', { p_before: before.toISOString(), p_reason: reason, p_max: 1 }),
    isDataError(err: unknown) {
      // the SQLSTATE PostgREST passes on decides; network errors (code '') and PGRST* codes are transient
      return err instanceof SupabaseRpcError && isDataSqlState(err.code)
    },
    async close() {
      // supabase-js holds no connection to close
    },
    trail: {
      checkpoints: async (after, limit) => (await rpc<unknown[]>('audit_trail_checkpoints', { p_after: after, p_limit: limit })).map(unwrap('audit_trail_checkpoints')) as Checkpoint[],
      signatures: async () => (await rpc<unknown[]>('audit_trail_signatures', {})).map(unwrap('audit_trail_signatures')) as SignedCheckpoint[],
      head: () => rpc('audit_trail_head', {}),
      recordSignature: (s) =>
        rpc<boolean>('audit_trail_record_signature', { p_seq: s.seq, p_hash: s.hash, p_signed_at: s.signed_at, p_key_id: s.key_id, p_signature: s.signature }),
      eraseEvent: async (id, fields, reason) => {
        const seq = await rpc<number | string | null>('audit_erase_event', { p_id: id, p_fields: fields, p_reason: reason })
        return seq == null ? null : Number(seq)
      },
    },
  }
}

/** A `setof jsonb` function's row: the value itself, or (as some RPC layers send it) an object keyed by the function's name. */
function unwrap(fn: string) {
  return (row: unknown) => (row && typeof row === 'object' && fn in row ? (row as Record<string, unknown>)[fn] : row)
}
