/**
 * The event model without any runtime dependency: values, limits, the event
 * type and its columns. The web page imports this (not the zod schemas).
 */
/** Values of the `result` column (CHECK constraint). */
export const RESULTS = ['success', 'failure', 'warning'] as const
/** Values of the `severity` column, least to most severe. */
export const SEVERITIES = ['debug', 'info', 'warning', 'error', 'critical'] as const
/** Values of the `actor_type` column. */
export const ACTOR_TYPES = ['user', 'admin', 'service', 'system', 'guest'] as const

export type Result = (typeof RESULTS)[number]
export type Severity = (typeof SEVERITIES)[number]
export type ActorType = (typeof ACTOR_TYPES)[number]

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

export const SOURCE_PATTERN = /^[a-z0-9_.:-]{1,50}$/
export const OPERATION_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/
/** Largest `extra_info`, measured as UTF-8 bytes of its JSON. */
export const EXTRA_INFO_MAX_BYTES = 32 * 1024
/** Largest `message`; the column is `text`, the bound keeps one event from filling a batch. */
export const MESSAGE_MAX_CHARS = 16 * 1024

/** Column lengths, from the migration. */
export const LIMITS = {
  operator: 255,
  tenant_id: 255,
  resource_type: 100,
  resource_id: 255,
  request_id: 255,
  user_agent: 1024,
} as const

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
export const EVENT_COLUMNS = [
  'id',
  'timestamp',
  'source',
  'operator',
  'operation_type',
  'result',
  'message',
  'extra_info',
  'severity',
  'tenant_id',
  'actor_type',
  'resource_type',
  'resource_id',
  'request_id',
  'ip_address',
  'user_agent',
] as const satisfies readonly (keyof AuditEvent)[]

export type { EventStats, EventFilters, HistogramBucket } from './query.ts'
