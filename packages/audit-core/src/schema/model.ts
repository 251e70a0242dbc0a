/**
 * The event model without any runtime dependency: values, limits, the event
 * type and its columns. The web page imports this (not the zod schemas).
 */
import { COLUMNS, patternClass, type ColumnName } from './columns.ts'

export { COLUMNS, charLength, patternClass, TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from './columns.ts'
export type { ColumnName, ColumnSpec, SqlType } from './columns.ts'

/** Values of the `result` column (CHECK constraint). */
export const RESULTS = COLUMNS.result.values
/** Values of the `severity` column, least to most severe. */
export const SEVERITIES = COLUMNS.severity.values
/** The common values of the `actor_type` column; any name matching its pattern is accepted too. */
export const ACTOR_TYPES = COLUMNS.actor_type.common

export type Result = (typeof RESULTS)[number]
export type Severity = (typeof SEVERITIES)[number]
/** A common actor type, or any other `[a-z_]{1,20}` name. */
export type ActorType = (typeof ACTOR_TYPES)[number] | (string & {})

/** The seed's operation types; any name matching {@link OPERATION_TYPE_PATTERN} is accepted too. */
export const OPERATION_TYPES = [
  'stock_price_download',
  'stock_data_retrieval',
  'scan_process',
  'config_update',
  'data_cleanup',
  'cache_refresh',
] as const
/** The seed's sources; any name matching {@link SOURCE_PATTERN} is accepted too. */
export const SOURCES = ['api-service', 'stock-data-service', 'frontend', 'background-job', 'system'] as const

/** A name column's CHECK pattern with its length: `^[a-z0-9_.:-]{1,50}$`. */
function boundedPattern(c: { pattern: string; maxLength: number }): RegExp {
  return new RegExp(`^${patternClass(c.pattern)}{1,${c.maxLength}}$`)
}
export const SOURCE_PATTERN = boundedPattern(COLUMNS.source)
export const OPERATION_TYPE_PATTERN = boundedPattern(COLUMNS.operation_type)
/** Largest `extra_info`, measured as UTF-8 bytes of its JSON. */
export const EXTRA_INFO_MAX_BYTES = COLUMNS.extra_info.maxBytes
/** Deepest `extra_info`: objects and arrays nested this many levels (the value itself is level 1). */
export const EXTRA_INFO_MAX_DEPTH = COLUMNS.extra_info.maxDepth
/** Largest `message`; the column is `text`, the bound keeps one event from filling a batch. */
export const MESSAGE_MAX_CHARS = COLUMNS.message.maxChars

type Column<K extends ColumnName> = (typeof COLUMNS)[K]
/** The varchar columns of free text (no CHECK): operator, tenant_id, resource_type, resource_id, request_id, user_agent. */
type FreeTextColumn = {
  [K in ColumnName]: Column<K> extends { type: 'character varying' } ? (Column<K> extends { values: unknown } | { pattern: unknown } ? never : K) : never
}[ColumnName]

/** Column lengths of the free-text columns, from the column spec. */
export const LIMITS = Object.fromEntries(
  Object.entries(COLUMNS as Record<string, { type: string; maxLength?: number; values?: unknown; pattern?: unknown }>)
    .filter(([, c]) => c.type === 'character varying' && c.values === undefined && c.pattern === undefined)
    .map(([name, c]) => [name, c.maxLength as number]),
) as { readonly [K in FreeTextColumn]: Column<K>['maxLength'] }

/** Severity of an event that does not name one (the database derives the same). */
export function severityForResult(result: Result): Severity {
  return result === 'failure' ? 'error' : result === 'warning' ? 'warning' : 'info'
}

/** An event as stored and as returned by the API. */
export interface AuditEvent {
  id: string
  timestamp: string
  source: string
  operator: string | null
  operation_type: string
  result: Result
  message: string | null
  extra_info: Record<string, unknown> | null
  severity: Severity
  tenant_id: string | null
  actor_type: ActorType | null
  resource_type: string | null
  resource_id: string | null
  request_id: string | null
  ip_address: string | null
  user_agent: string | null
}

/** The columns in table order; also the CSV header. */
export const EVENT_COLUMNS: readonly ColumnName[] = Object.freeze(Object.keys(COLUMNS) as ColumnName[])

// The spec and the event type name the same columns (a compile-time check).
const _sameColumns: [ColumnName, keyof AuditEvent] extends [keyof AuditEvent, ColumnName] ? true : never = true

export type { EventStats, EventFilters, HistogramBucket } from './query.ts'
