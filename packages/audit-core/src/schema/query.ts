import { z } from 'zod'
import { ACTOR_TYPES, RESULTS, SEVERITIES, type Result, type Severity, type ActorType } from './event.ts'

/**
 * The filter object every store passes to the SQL functions (snake_case, the
 * same names as the API's query parameters). List fields mean "any of".
 */
export interface EventFilters {
  start_date?: string
  end_date?: string
  operation_type?: string[]
  result?: Result[]
  source?: string[]
  operator?: string[]
  severity?: Severity[]
  tenant_id?: string[]
  actor_type?: ActorType[]
  resource_type?: string[]
  resource_id?: string[]
  request_id?: string[]
  /** Case-insensitive substring of message, operation_type or operator. */
  q?: string
  /** `extra_info ->> key = value` for each entry. */
  extra?: Record<string, string>
}

export type SortOrder = 'asc' | 'desc'

export interface EventQuery {
  filters: EventFilters
  limit: number
  offset?: number
  order?: SortOrder
  /** Keyset cursor: the id of the last event of the previous page. */
  after?: string
  /** Count exactly up to this many rows; past it `total` is the planner's estimate and `totalExact` is false. */
  countCap?: number
  /** Skip counting (export pages); `total` is then -1. Default true. `limit: 0` counts without reading a page. */
  withTotal?: boolean
}

export interface EventPage<E> {
  events: E[]
  total: number
  /** False when more than `countCap` matched: `total` is then an estimate, always above the cap. */
  totalExact: boolean
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

/** Parses an ISO 8601 date or date-time (UTC when it names no offset) to a canonical ISO string. */
export function parseIsoDate(s: string): string | null {
  const t = s.trim()
  if (!ISO_DATE.test(t)) return null
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) && t.length > 10
  const ms = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : hasZone ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`)
  return Number.isNaN(ms) ? null : new Date(ms).toISOString()
}

const isoDate = z
  .string()
  .transform((s, ctx) => {
    const iso = parseIsoDate(s)
    if (iso === null) {
      ctx.addIssue({ code: 'custom', message: 'Input should be a valid ISO 8601 date or datetime', params: { type: 'datetime_parsing' } })
      return z.NEVER
    }
    return iso
  })

/** A query parameter that may be repeated or hold a comma list: `source=a,b` or `source=a&source=b`. */
function list<T extends z.ZodType<string, string>>(item: T, what: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe(`${what}; a comma-separated list means any of them`)
    .transform((v) =>
      v === undefined
        ? undefined
        : (Array.isArray(v) ? v : [v])
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    )
    .pipe(z.array(item).max(100).optional())
    .transform((v) => (v && v.length > 0 ? v : undefined))
}

const text = (max: number) => z.string().min(1).max(max)
const EXTRA_KEY = /^[A-Za-z0-9_.:-]{1,100}$/

/** Filters shared by the events list, export, stats and purge. */
export const FilterParamsShape = {
  start_date: isoDate.optional().describe('Inclusive lower bound (ISO 8601; UTC when no offset is given)'),
  end_date: isoDate.optional().describe('Inclusive upper bound (ISO 8601)'),
  operation_type: list(text(100), 'Operation type'),
  result: list(z.enum(RESULTS), 'Result: success, failure or warning'),
  source: list(text(50), 'Source'),
  operator: list(text(255), 'Operator'),
  severity: list(z.enum(SEVERITIES), 'Severity: debug, info, warning, error or critical'),
  tenant_id: list(text(255), 'Tenant'),
  actor_type: list(z.enum(ACTOR_TYPES), 'Actor type'),
  resource_type: list(text(100), 'Resource type'),
  resource_id: list(text(255), 'Resource id'),
  request_id: list(text(255), 'Request id'),
  q: z.string().max(200).optional().describe('Case-insensitive text search in message, operation_type and operator'),
}

/**
 * `extra.<key>=<value>` query parameters (a filter on a key of extra_info),
 * collected from the raw query. Key names are checked; values are bound.
 */
export function extraFilters(query: Record<string, unknown>): { extra?: Record<string, string>; badKeys: string[] } {
  const extra: Record<string, string> = {}
  const badKeys: string[] = []
  for (const [k, v] of Object.entries(query)) {
    if (!k.startsWith('extra.')) continue
    const key = k.slice('extra.'.length)
    if (!EXTRA_KEY.test(key)) badKeys.push(k)
    else extra[key] = Array.isArray(v) ? String(v.at(-1)) : String(v)
  }
  return { ...(Object.keys(extra).length ? { extra } : {}), badKeys }
}

/** GET /api/v1/audit/events query parameters. */
export const ListParamsSchema = z.object({
  ...FilterParamsShape,
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Page size, 1 to 1000'),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0).describe('Rows to skip'),
  order: z.enum(['desc', 'asc']).default('desc').describe('Newest first (desc) or oldest first (asc)'),
  after: z.uuid().optional().describe('Keyset cursor: the id of the last event of the previous page (cheaper than a deep offset)'),
})

export type ListParams = z.output<typeof ListParamsSchema>

/** The store filter object from validated parameters. */
export function toFilters(p: Partial<Record<keyof typeof FilterParamsShape, unknown>>, extra?: Record<string, string>): EventFilters {
  const f: Record<string, unknown> = {}
  for (const key of Object.keys(FilterParamsShape)) {
    const v = p[key as keyof typeof FilterParamsShape]
    if (v !== undefined && v !== '') f[key] = v
  }
  if (extra) f.extra = extra
  return f as EventFilters
}

export type HistogramBucket = 'hour' | 'day'

/** What GET /stats answers (and every store's `stats`). */
export interface EventStats {
  total: number
  by_result: Record<string, number>
  by_operation_type: Record<string, number>
  by_source: Record<string, number>
  by_severity: Record<string, number>
  histogram: { bucket: HistogramBucket; points: { start: string; success: number; failure: number; warning: number }[] }
  /** With `groupBy`: the 50 most frequent values of that extra_info key. */
  groups?: { value: string; count: number }[]
}

export interface StatsQuery {
  filters: EventFilters
  bucket: HistogramBucket
  /** A key of extra_info. */
  groupBy?: string
}
