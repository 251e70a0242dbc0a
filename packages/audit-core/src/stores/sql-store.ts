import type { AuditEvent, EventRow } from '../schema/event.ts'
import type { EventFilters, EventPage, EventQuery, EventStats, StatsQuery } from '../schema/query.ts'
import type { Checkpoint, SignedCheckpoint } from '../trail/signing.ts'
import { NO_TOTAL, inIdOrder, isDataSqlState, toAuditEvent, type AuditStore, type PartitionDrop, type PartitioningStatus, type StoreKind, type TotalJson, type TrailStore } from './store.ts'

/** The one thing the SQL stores need from a driver: a parameterised query. */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]>
  /** Runs the batch writes, when they have connections of their own (default: `query`). */
  write?<R = Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]>
}

/**
 * The one statement behind `queryEvents`: the page as a JSON array and the
 * bounded total, in one round trip (the page's latency is mostly round trips
 * and row decoding; JSON.parse of one text decodes a page fastest). Columns
 * `events` and `total` (both JSON text; total null without `withTotal`).
 */
export function eventsPageSql(query: EventQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [JSON.stringify(query.filters)]
  const param = (v: unknown, type: string) => `$${params.push(v)}::${type}`
  const page =
    query.limit > 0
      ? `(select coalesce(json_agg(e), '[]'::json) from public.audit_query_events($1::text::jsonb, ${param(query.limit, 'int')}, ${param(query.offset ?? 0, 'int')}, ${param(query.order ?? 'desc', 'text')}, ${param(query.after ?? null, 'uuid')}) e)::text`
      : `'[]'`
  const total = query.withTotal !== false ? `public.audit_total_events($1::text::jsonb, ${param(query.countCap ?? null, 'bigint')})::text` : 'null'
  return { text: `select ${page} as events, ${total} as total`, params }
}

/** The store's warning when `q` has no trigram index (the server lacks pg_trgm, or the migrating role could not create it). */
export const NO_SEARCH_INDEX_WARNING =
  'q (text search) has no trigram index: pg_trgm is not available to this database, so each search reads every event in its date range. ' +
  'Install PostgreSQL\'s contrib package (pg_trgm), then run: select audit_private.audit_events_search_index();'

/**
 * What a store opened on this database should say at start-up (see
 * {@link AuditStore.warnings}), read from the schema after migrating.
 *
 * @example
 * store.warnings = await schemaWarnings(client)
 */
export async function schemaWarnings(client: SqlClient): Promise<string[]> {
  const [r] = await client.query<{ ok: boolean }>("select to_regclass('public.audit_events_search_trgm_idx') is not null as ok", [])
  return r?.ok ? [] : [NO_SEARCH_INDEX_WARNING]
}

/**
 * A store over a direct SQL connection (node-postgres or PGlite): it calls the
 * migration's functions with JSON arguments, exactly as the supabase store
 * does over RPC.
 */
export function createSqlStore(kind: StoreKind, client: SqlClient, close: () => Promise<void>): AuditStore {
  return {
    kind,
    async insertEvents(rows: readonly EventRow[]) {
      if (rows.length === 0) return 0
      const [r] = await (client.write ?? client.query)<{ n: number }>('select public.audit_insert_events($1::text::json) as n', [
        JSON.stringify(inIdOrder(rows)),
      ])
      return r?.n ?? 0
    },
    async queryEvents(query: EventQuery): Promise<EventPage<AuditEvent>> {
      const { text, params } = eventsPageSql(query)
      const [r] = await client.query<{ events: string; total: string | null }>(text, params)
      const events = JSON.parse(r?.events ?? '[]') as Record<string, unknown>[]
      const t = r?.total ? (JSON.parse(r.total) as TotalJson) : NO_TOTAL
      return { events: events.map(toAuditEvent), total: Number(t.total), totalExact: t.exact }
    },
    async getEvent(id: string) {
      // as JSON, like the page: the driver's own timestamptz parser reads years 1-99 as 1901-1999
      const [r] = await client.query<{ e: string }>('select to_json(e)::text as e from public.audit_get_event($1::uuid) e', [id])
      return r ? toAuditEvent(JSON.parse(r.e) as Record<string, unknown>) : null
    },
    async stats(query: StatsQuery): Promise<EventStats> {
      const [r] = await client.query<{ s: EventStats | string }>('select public.audit_stats($1::text::jsonb, $2::text, $3::text) as s', [
        JSON.stringify(query.filters),
        query.bucket,
        query.groupBy?.join(',') ?? null,
      ])
      return typeof r?.s === 'string' ? (JSON.parse(r.s) as EventStats) : (r?.s as EventStats)
    },
    async deleteEvents(filters: EventFilters, limit: number, reason?: string) {
      const [r] = await client.query<{ n: number }>('select public.audit_delete_events($1::text::jsonb, $2::int, $3::text) as n', [
        JSON.stringify(filters),
        limit,
        reason ?? null,
      ])
      return r?.n ?? 0
    },
    async partitioning() {
      const [r] = await client.query<{ j: string }>('select public.audit_partitioning()::text as j', [])
      return JSON.parse(r?.j ?? 'null') as PartitioningStatus
    },
    async maintainPartitions() {
      const [r] = await client.query<{ j: string }>('select public.audit_partition_maintenance()::text as j', [])
      return JSON.parse(r?.j ?? 'null') as PartitioningStatus
    },
    async dropPartitions(before: Date, reason: string) {
      const [r] = await client.query<{ j: string }>('select public.audit_drop_partitions($1::timestamptz, $2::text, 1)::text as j', [before.toISOString(), reason])
      return JSON.parse(r?.j ?? 'null') as PartitionDrop
    },
    isDataError(err: unknown) {
      return isDataSqlState((err as { code?: unknown } | null)?.code)
    },
    close,
    trail: sqlTrail(client),
  }
}

/** The trail's functions over SQL; JSON comes back as text so that every driver gives the same values. */
function sqlTrail(client: SqlClient): TrailStore {
  const json = async <T>(text: string, params: unknown[]): Promise<T[]> =>
    (await client.query<{ j: string }>(text, params)).map((r) => JSON.parse(r.j) as T)
  return {
    checkpoints: (after, limit) => json<Checkpoint>('select c::text as j from public.audit_trail_checkpoints($1::bigint, $2::int) c', [after, limit]),
    signatures: () => json<SignedCheckpoint>('select s::text as j from public.audit_trail_signatures() s', []),
    async head() {
      const [h] = await json<{ seq: number; hash: string; signed_seq: number | null }>('select public.audit_trail_head()::text as j', [])
      return h ?? { seq: 0, hash: '0'.repeat(64), signed_seq: null }
    },
    async recordSignature(s) {
      const [r] = await client.query<{ ok: boolean }>('select public.audit_trail_record_signature($1::bigint, $2::text, $3::timestamptz, $4::text, $5::text) as ok', [
        s.seq,
        s.hash,
        s.signed_at,
        s.key_id,
        s.signature,
      ])
      return r?.ok === true
    },
    async eraseEvent(id, fields, reason) {
      const [r] = await client.query<{ seq: string | number | null }>('select public.audit_erase_event($1::uuid, $2::text[], $3::text) as seq', [id, fields, reason])
      return r?.seq == null ? null : Number(r.seq)
    },
  }
}
