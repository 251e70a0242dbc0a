import { z } from 'zod'
import { COLUMNS, charLength, parseTimestamp, type ActorType, type ColumnName, type ColumnSpec, type Result, type Severity } from './event.ts'

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
  /**
   * Exclusions (`not.<field>=value` parameters): each entry drops the events
   * that the same positive filter would keep; an event with the field null stays.
   */
  not?: ExclusionFilters
}

/** The fields an exclusion may name: the column lists and extra_info keys. */
export type ExclusionFilters = Omit<EventFilters, 'start_date' | 'end_date' | 'q' | 'not'>

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

/**
 * Parses an ISO 8601 date or date-time (UTC when it names no offset) to a
 * canonical ISO string; null for text that is not one, an impossible
 * calendar date, or a time outside years 0001-9999 (the rule of
 * {@link parseTimestamp}, shared with ingest).
 */
export function parseIsoDate(s: string): string | null {
  const p = parseTimestamp(s.trim())
  return p.ok ? p.iso : null
}

const isoDate = z.string().check((ctx) => {
  const p = parseTimestamp(ctx.value.trim())
  if (p.ok) ctx.value = p.iso
  else ctx.issues.push({ code: 'custom', input: ctx.value, message: p.message, params: { type: 'datetime_from_date_parsing' } })
})

/** Why a filter value cannot be compared in SQL (NUL, a lone surrogate), as a zod issue; or undefined. */
function unstorable(s: string): z.core.$ZodRawIssue | undefined {
  if (s.includes('\u0000')) return { code: 'custom', input: s, message: 'Input should not contain NUL characters (U+0000)', params: { type: 'string_nul' } }
  if (!s.isWellFormed()) return { code: 'custom', input: s, message: 'Input is not valid Unicode (it holds a lone surrogate)', params: { type: 'string_unicode' } }
  return undefined
}

/** A text filter value: 1 to `max` characters (as Postgres counts them), valid Unicode, no NUL. */
function text(max: number) {
  return z.string().check((ctx) => {
    const s = ctx.value
    const bad = unstorable(s)
    if (bad) ctx.issues.push(bad)
    else if (s.length === 0) ctx.issues.push({ code: 'too_small', origin: 'string', minimum: 1, input: s, message: 'Input should have at least 1 character' })
    else if (s.length > max && charLength(s) > max) {
      ctx.issues.push({ code: 'too_big', origin: 'string', maximum: max, input: s, message: `Input should have at most ${max} characters` })
    }
  })
}

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

const EXTRA_KEY = /^[A-Za-z0-9_.:-]{1,100}$/
const EXTRA_PREFIX = 'extra.'
/** The prefix of an exclusion parameter: `not.operator=x`, `not.extra.<key>=v`. */
export const NOT_PREFIX = 'not.'

type Column<K extends ColumnName> = (typeof COLUMNS)[K]
type FilterColumn = { [K in ColumnName]: Column<K> extends { filter: true } ? K : never }[ColumnName]
type ListOf<C> = C extends { values: readonly (infer V extends string)[] } ? V[] : string[]
type FilterShape = { [K in FilterColumn]: z.ZodType<ListOf<Column<K>> | undefined, string | string[] | undefined> }

/** `col=a,b`: one list parameter for each filterable column of the spec, with the column's values or length. */
const columnFilters = Object.fromEntries(
  Object.entries(COLUMNS as Record<string, ColumnSpec>)
    .filter(([, c]) => c.filter)
    .map(([name, c]) => {
      const item = c.values ? z.enum(c.values) : text((c.maxLength ?? c.maxChars) as number)
      const what = c.values
        ? `${name}: ${c.values.join(', ')}`
        : c.wildcard
          ? `${name}, exactly, or a pattern where * matches any characters (prefix*, *part*; \\* is a literal star, case-sensitive)`
          : c.common
            ? `${name}, exactly (commonly ${c.common.join(', ')})`
            : `${name}, exactly`
      return [name, list(item, what)]
    }),
) as unknown as FilterShape

type NotShape = { [K in FilterColumn as `not.${K}`]: FilterShape[K] }

/** `not.col=a,b`: the same list as `col`, excluding what it would keep. */
const exclusionFilters = Object.fromEntries(
  Object.entries(columnFilters as Record<string, z.ZodType>).map(([name, schema]) => [
    `${NOT_PREFIX}${name}`,
    schema.describe(`Excludes the events that \`${name}\` with the same value(s) would keep (an event without a ${name} stays)`),
  ]),
) as unknown as NotShape

/** Filters shared by the events list, export, stats and purge. */
export const FilterParamsShape = {
  start_date: isoDate.optional().describe('Inclusive lower bound (ISO 8601; UTC when no offset is given; years 0001-9999)'),
  end_date: isoDate.optional().describe('Inclusive upper bound (ISO 8601)'),
  ...columnFilters,
  ...exclusionFilters,
  q: z
    .string()
    .max(200)
    .check((ctx) => {
      const bad = unstorable(ctx.value)
      if (bad) ctx.issues.push(bad)
    })
    .optional()
    .describe('Case-insensitive text search in message, operation_type and operator'),
}

/**
 * An object of query parameters that refuses any parameter it does not name
 * (422 `extra_forbidden`: a typo must never widen a query or a delete). With
 * `extra`, `extra.<key>=<value>` filters are allowed too, each key a plain
 * name given once.
 *
 * @example
 * const ListParams = queryParams({ limit: z.coerce.number() }, { extra: true })
 */
export function queryParams<S extends z.ZodRawShape>(shape: S, options: { extra?: boolean } = {}) {
  return z.looseObject(shape).superRefine(
    (q, ctx) => {
      for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
        if (Object.hasOwn(shape, k)) continue
        const extraKey = k.startsWith(EXTRA_PREFIX) ? k.slice(EXTRA_PREFIX.length) : k.startsWith(NOT_PREFIX + EXTRA_PREFIX) ? k.slice(NOT_PREFIX.length + EXTRA_PREFIX.length) : undefined
        if (!options.extra || extraKey === undefined) {
          ctx.addIssue({ code: 'unrecognized_keys', keys: [k], input: q })
          continue
        }
        const issue = (message: string, type: string) => ctx.addIssue({ code: 'custom', path: [k], input: v, message, params: { type } })
        if (!EXTRA_KEY.test(extraKey)) issue('extra_info key must match [A-Za-z0-9_.:-]{1,100}', 'value_error')
        else if (typeof v !== 'string') issue('Give an extra_info filter once: it compares one value', 'string_type')
        else {
          const bad = unstorable(v)
          if (bad) ctx.addIssue({ ...bad, path: [k] })
        }
      }
    },
    // report unknown parameters beside any other error, not after it is fixed
    { when: () => true },
  )
}

/** The `extra.<key>=<value>` filters of validated query parameters (see {@link queryParams}); `prefix` `'not.'` reads the excluded ones. */
export function extraFilters(query: Record<string, unknown>, prefix = ''): Record<string, string> | undefined {
  const extra: Record<string, string> = {}
  const start = prefix + EXTRA_PREFIX
  for (const [k, v] of Object.entries(query)) if (k.startsWith(start) && typeof v === 'string') extra[k.slice(start.length)] = v
  return Object.keys(extra).length > 0 ? extra : undefined
}

const INT_TEXT = /^\s*[+-]?\d+\s*$/

/**
 * A whole number given as a query parameter, read as pydantic reads one from
 * text: an optional sign and digits. Anything else (`''`, `1.5`, `1e3`,
 * `abc`) is refused as not a number, where `z.coerce.number()` would read
 * `''` as 0 and `1e3` as 1000.
 */
function queryInt(min: number, max: number) {
  return z.preprocess((v) => (typeof v === 'string' && INT_TEXT.test(v) ? Number(v) : v), z.number().int().min(min).max(max))
}

/** GET /api/v1/audit/events query parameters. */
export const ListParamsSchema = queryParams(
  {
    ...FilterParamsShape,
    limit: queryInt(1, 1000).default(100).describe('Page size, 1 to 1000'),
    offset: queryInt(0, 10_000_000).default(0).describe('Rows to skip'),
    order: z.enum(['desc', 'asc']).default('desc').describe('Newest first (desc) or oldest first (asc)'),
    after: z.uuid().optional().describe('Keyset cursor: the id of the last event of the previous page (cheaper than a deep offset)'),
  },
  { extra: true },
)

export type ListParams = z.output<typeof ListParamsSchema>

/** The store filter object from validated parameters. */
export function toFilters(p: Partial<Record<string, unknown>>, extra?: Record<string, string>): EventFilters {
  const f: Record<string, unknown> = {}
  const not: Record<string, unknown> = {}
  for (const key of Object.keys(FilterParamsShape)) {
    const v = p[key]
    if (v === undefined || v === '') continue
    if (key.startsWith(NOT_PREFIX)) not[key.slice(NOT_PREFIX.length)] = v
    else f[key] = v
  }
  if (extra) f.extra = extra
  const notExtra = extraFilters(p, NOT_PREFIX)
  if (notExtra) not.extra = notExtra
  if (Object.keys(not).length > 0) f.not = not
  return f
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
  /** With `groupBy`: the 50 most frequent values of that extra_info key (`value`), or with several keys of their combinations (`values`, a missing key null). */
  groups?: ({ value: string | null; count: number } | { values: Record<string, string | null>; count: number })[]
}

export interface StatsQuery {
  filters: EventFilters
  bucket: HistogramBucket
  /** Keys of extra_info (at most 10): one answers its values, several their combinations. */
  groupBy?: readonly string[]
}
