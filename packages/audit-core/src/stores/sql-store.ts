import type { AuditEvent, EventRow } from '../schema/event.ts'
import type { EventFilters, EventPage, EventQuery, EventStats, StatsQuery } from '../schema/query.ts'
import { NO_TOTAL, isDataSqlState, toAuditEvent, type AuditStore, type StoreKind, type TotalJson } from './store.ts'

/** The one thing the SQL stores need from a driver: a parameterised query. */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]>
}

/**
 * A store over a direct SQL connection (postgres.js or PGlite): it calls the
 * migration's functions with JSON arguments, exactly as the supabase store
 * does over RPC.
 */
export function createSqlStore(kind: StoreKind, client: SqlClient, close: () => Promise<void>): AuditStore {
  return {
    kind,
    async insertEvents(rows: readonly EventRow[]) {
      if (rows.length === 0) return 0
      const [r] = await client.query<{ n: number }>('select public.audit_insert_events($1::text::json) as n', [
        JSON.stringify(rows),
      ])
      return Number(r?.n ?? 0)
    },
    async queryEvents(query: EventQuery): Promise<EventPage<AuditEvent>> {
      const filters = JSON.stringify(query.filters)
      const [rows, counted] = await Promise.all([
        query.limit > 0
          ? client.query('select * from public.audit_query_events($1::text::jsonb, $2::int, $3::int, $4::text, $5::uuid)', [
              filters,
              query.limit,
              query.offset ?? 0,
              query.order ?? 'desc',
              query.after ?? null,
            ])
          : Promise.resolve([]),
        query.withTotal !== false
          ? client.query<{ t: TotalJson | string }>('select public.audit_total_events($1::text::jsonb, $2::bigint) as t', [
              filters,
              query.countCap ?? null,
            ])
          : Promise.resolve([{ t: NO_TOTAL }]),
      ])
      const t = counted[0]?.t
      const total = typeof t === 'string' ? (JSON.parse(t) as TotalJson) : (t ?? NO_TOTAL)
      return { events: rows.map(toAuditEvent), total: Number(total.total), totalExact: total.exact }
    },
    async getEvent(id: string) {
      const rows = await client.query('select * from public.audit_get_event($1::uuid)', [id])
      return rows[0] ? toAuditEvent(rows[0]) : null
    },
    async stats(query: StatsQuery): Promise<EventStats> {
      const [r] = await client.query<{ s: EventStats | string }>('select public.audit_stats($1::text::jsonb, $2::text, $3::text) as s', [
        JSON.stringify(query.filters),
        query.bucket,
        query.groupBy ?? null,
      ])
      return typeof r?.s === 'string' ? (JSON.parse(r.s) as EventStats) : (r?.s as EventStats)
    },
    async deleteEvents(filters: EventFilters, limit: number) {
      const [r] = await client.query<{ n: number }>('select public.audit_delete_events($1::text::jsonb, $2::int) as n', [
        JSON.stringify(filters),
        limit,
      ])
      return Number(r?.n ?? 0)
    },
    isDataError(err: unknown) {
      return isDataSqlState((err as { code?: unknown } | null)?.code)
    },
    close,
  }
}
