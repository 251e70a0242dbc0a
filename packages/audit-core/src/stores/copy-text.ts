import { EVENT_COLUMNS, type EventRow } from '../schema/event.ts'

const SPECIAL = /[\\\n\r\t]/
const SPECIAL_ALL = /[\\\n\r\t]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function field(v: string): string {
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : v
}

/** `COPY public.audit_events (…) FROM STDIN` for {@link copyText}'s columns. */
export const COPY_EVENTS_SQL = `copy public.audit_events (${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')}) from stdin`

/**
 * Rows in COPY's text format (tab-separated, `\N` for null, backslash
 * escapes), the columns in {@link EVENT_COLUMNS} order; null when a row has
 * no id or timestamp, which only the insert function fills in.
 */
export function copyText(rows: readonly EventRow[]): string | null {
  let out = ''
  for (const r of rows) {
    if (!r.id || !r.timestamp) return null
    for (let i = 0; i < EVENT_COLUMNS.length; i++) {
      const v = r[EVENT_COLUMNS[i] as keyof EventRow]
      if (i > 0) out += '\t'
      out += v === null || v === undefined ? '\\N' : field(typeof v === 'string' ? v : JSON.stringify(v))
    }
    out += '\n'
  }
  return out
}
