import type { AuditEvent, EventFilters, EventRow, SortOrder } from '@audit/core'

type Row = AuditEvent | EventRow

/**
 * The filter semantics of the API, written again in plain TypeScript so that
 * tests compute expected results independently of the SQL.
 */
export function referenceFilter<T extends Row>(rows: readonly T[], f: EventFilters): T[] {
  const t = (r: Row) => Date.parse(r.timestamp)
  const anyOf = (v: unknown, list?: readonly unknown[]) => !list || list.includes(v)
  const q = f.q?.toLowerCase()
  return rows.filter((r) => {
    if (f.start_date && t(r) < Date.parse(f.start_date)) return false
    if (f.end_date && t(r) > Date.parse(f.end_date)) return false
    if (!matchesAny(r.operation_type, f.operation_type)) return false
    if (!anyOf(r.result, f.result)) return false
    if (!anyOf(r.source, f.source)) return false
    if (!matchesAny(r.operator, f.operator)) return false
    if (!anyOf(r.severity, f.severity)) return false
    if (!anyOf(r.tenant_id, f.tenant_id)) return false
    if (!anyOf(r.actor_type, f.actor_type)) return false
    if (!anyOf(r.resource_type, f.resource_type)) return false
    if (!anyOf(r.resource_id, f.resource_id)) return false
    if (!anyOf(r.request_id, f.request_id)) return false
    if (q && ![r.message, r.operation_type, r.operator].some((s) => s?.toLowerCase().includes(q))) return false
    if (f.extra) {
      for (const [k, v] of Object.entries(f.extra)) {
        const x = r.extra_info?.[k]
        if (x === undefined || x === null || (typeof x === 'string' ? x : JSON.stringify(x)) !== v) return false
      }
    }
    // an exclusion drops what the same filter alone would keep
    for (const [k, v] of Object.entries(f.not ?? {})) {
      const alone: EventFilters[] = k === 'extra' ? Object.entries(v as Record<string, string>).map(([ek, ev]) => ({ extra: { [ek]: ev } })) : [{ [k]: v }]
      if (alone.some((one) => referenceFilter([r], one).length > 0)) return false
    }
    return true
  })
}

/** Sorts like the API: by timestamp, then id. */
export function referenceSort<T extends Row>(rows: readonly T[], order: SortOrder = 'desc'): T[] {
  const s = [...rows].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return order === 'desc' ? s.reverse() : s
}

/** A wildcard filter value (`*` any characters, `\*` a literal star, `\\` a backslash) as a RegExp; a value without `*` is exact. */
export function wildcardRegExp(value: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  if (!value.includes('*')) return new RegExp(`^${esc(value)}$`, 'su')
  let re = ''
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i)
    const next = value.charAt(i + 1)
    if (c === '\\' && (next === '*' || next === '\\')) {
      re += esc(next)
      i++
    } else re += c === '*' ? '.*' : esc(c)
  }
  return new RegExp(`^${re}$`, 'su')
}

function matchesAny(v: string | null | undefined, list?: readonly string[]): boolean {
  return !list || (typeof v === 'string' && list.some((p) => wildcardRegExp(p).test(v)))
}
