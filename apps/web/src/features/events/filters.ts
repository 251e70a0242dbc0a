/** The page's view: everything in the URL's query string, so reload, back/forward and links keep it. */
export interface ViewState {
  /** A preset ('1h' | '24h' | '7d' | '30d') or 'custom' with start/end. */
  range: RangePreset | 'custom'
  start?: string
  end?: string
  operation_type?: string
  source?: string
  result?: string
  severity?: string
  operator?: string
  tenant_id?: string
  actor_type?: string
  resource_type?: string
  resource_id?: string
  request_id?: string
  q?: string
  /** `extra.<key>` filters and `not.<field>` exclusions, by their API parameter name. */
  more?: Record<string, string>
  /** Oldest first when 'asc'; newest first otherwise. */
  order?: 'asc'
  page: number
  size: number
  /** The event open in the detail view. */
  event?: string
}

export const PRESETS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const
export type RangePreset = keyof typeof PRESETS
export const PAGE_SIZES = [25, 50, 100] as const
export const DEFAULT_VIEW: ViewState = { range: '7d', page: 1, size: 50 }

export const FILTER_KEYS = ['operation_type', 'source', 'result', 'severity', 'operator', 'tenant_id', 'actor_type', 'resource_type', 'resource_id', 'request_id', 'q'] as const
export type FilterKey = (typeof FILTER_KEYS)[number]
/** Parameters named after a field: `extra.<key>=v`, `not.<field>=v`, `not.extra.<key>=v` (the API's own names). */
const MORE = /^(not\.)?(extra\.[A-Za-z0-9_.:-]{1,100}|operation_type|source|result|severity|operator|tenant_id|actor_type|resource_type|resource_id|request_id)$/
export const isMoreKey = (k: string) => MORE.test(k)

/** A value the API compares exactly: its `*` and `\` escaped (a `*` would be a wildcard). */
export const exactValue = (s: string) => s.replace(/[\\*]/g, (c) => `\\${c}`)
/** A value the API matches anywhere in the field: `*part*`. */
export const containsValue = (s: string) => `*${exactValue(s)}*`
/** Reads a filter value back: whether it is a `*part*` and the text typed. */
export function readMatch(v: string | undefined): { mode: 'is' | 'contains'; text: string } {
  if (!v) return { mode: 'is', text: '' }
  const contains = /^\*(?:[^*\\]|\\.)*\*$/s.test(v) && v.length >= 2
  const inner = contains ? v.slice(1, -1) : v
  return { mode: contains ? 'contains' : 'is', text: inner.replace(/\\(.)/gs, '$1') }
}

export function readView(search: string): ViewState {
  const p = new URLSearchParams(search)
  const v: ViewState = { ...DEFAULT_VIEW }
  // a time that is not one (?start=yesterday) is left out, never passed on to throw
  const valid = (t: string | null) => (t && !Number.isNaN(Date.parse(t)) ? new Date(t).toISOString() : undefined)
  const start = valid(p.get('start'))
  const end = valid(p.get('end'))
  const range = p.get('range')
  if (start || end) {
    v.range = 'custom'
    if (start) v.start = start
    if (end) v.end = end
  } else if (range && range in PRESETS) v.range = range as RangePreset
  for (const k of FILTER_KEYS) {
    const x = p.get(k)
    if (x) v[k] = x
  }
  for (const [k, x] of p) if (x && isMoreKey(k) && !(FILTER_KEYS as readonly string[]).includes(k)) v.more = { ...v.more, [k]: x }
  const page = Number(p.get('page'))
  if (Number.isInteger(page) && page > 1) v.page = page
  const size = Number(p.get('size'))
  if ((PAGE_SIZES as readonly number[]).includes(size)) v.size = size
  if (p.get('order') === 'asc') v.order = 'asc'
  const event = p.get('event')
  if (event) v.event = event
  return v
}

export function writeView(v: ViewState): string {
  const p = new URLSearchParams()
  if (v.range === 'custom') {
    if (v.start) p.set('start', v.start)
    if (v.end) p.set('end', v.end)
  } else if (v.range !== DEFAULT_VIEW.range) p.set('range', v.range)
  for (const k of FILTER_KEYS) if (v[k]) p.set(k, v[k])
  for (const [k, x] of Object.entries(v.more ?? {})) p.set(k, x)
  if (v.order) p.set('order', v.order)
  if (v.page > 1) p.set('page', String(v.page))
  if (v.size !== DEFAULT_VIEW.size) p.set('size', String(v.size))
  if (v.event) p.set('event', v.event)
  const s = p.toString()
  return s ? `?${s}` : ''
}

/** The API filters of a view; a preset range counts back from `anchor` (fixed between refreshes). */
export function apiFilters(v: ViewState, anchor: number): Record<string, string | undefined> {
  const range =
    v.range === 'custom'
      ? { start_date: v.start ? new Date(v.start).toISOString() : undefined, end_date: v.end ? new Date(v.end).toISOString() : undefined }
      : { start_date: new Date(anchor - PRESETS[v.range]).toISOString(), end_date: undefined }
  return { ...range, ...Object.fromEntries(FILTER_KEYS.map((k) => [k, v[k]])), ...v.more }
}

export function hasFilters(v: ViewState): boolean {
  return FILTER_KEYS.some((k) => v[k]) || Object.keys(v.more ?? {}).length > 0 || v.range !== DEFAULT_VIEW.range
}

/** The view with every filter cleared (range, page size and order kept). */
export function withoutFilters(): Partial<ViewState> {
  return { ...Object.fromEntries(FILTER_KEYS.map((k) => [k, undefined])), more: undefined, page: 1 }
}

/**
 * The patch that keeps only events whose `field` is `value` (or, with
 * `exclude`, leaves them out). `field` is a column or `extra.<key>`.
 */
export function filterPatch(v: ViewState, field: string, value: string, exclude: boolean): Partial<ViewState> {
  const exact = field === 'operation_type' || field === 'operator' ? exactValue(value) : value
  if (!exclude && (FILTER_KEYS as readonly string[]).includes(field)) return { [field]: exact, page: 1 }
  const key = exclude ? `not.${field}` : field
  return { more: { ...v.more, [key]: exact }, page: 1 }
}
