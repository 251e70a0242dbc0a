/** What the export tests share: the CSV rule restated (not the code under test), and the tricky events' common fields. */
import { EVENT_COLUMNS, jsonbText, type AuditEvent, type EventRow } from '@audit/core'

/** One CSV line of an event: every value quoted, null empty, a formula start defused, LF line end. */
export function csvLine(e: AuditEvent): string {
  const cells = EVENT_COLUMNS.map((c) => {
    const v = e[c]
    if (v === null) return ''
    let s = typeof v === 'object' ? jsonbText(v) : v // an object is extra_info
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
    return `"${s.replaceAll('"', '""')}"`
  })
  return `${cells.join(',')}\n`
}

/** The i-th tricky event (fixed id, one second apart before `now`, operation_type tricky_export) with `fields` over it. */
export function trickyEvent(i: number, now: number, fields: Partial<EventRow>): EventRow {
  return {
    id: `01900000-0000-7000-8000-0000000000${String(i).padStart(2, '0')}`,
    timestamp: new Date(now - 1000 * (i + 1)).toISOString(),
    source: 'frontend',
    operation_type: 'tricky_export',
    result: 'success',
    severity: 'info',
    ...fields,
  }
}
