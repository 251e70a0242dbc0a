import Papa from 'papaparse'
import { EVENT_COLUMNS, type AuditEvent } from './schema/event.ts'

/**
 * The export's CSV, the same bytes from every store (the postgres store has
 * the database write it with COPY; the others page through events here):
 *
 * - a header line of the column names, then one line per event, each ending in LF;
 * - every value quoted (`"` doubled), a null an empty unquoted field, so an
 *   empty text and a null stay apart;
 * - a value that starts with = + - @ tab or CR gets a leading `'`, so that a
 *   spreadsheet shows it as text instead of running it (formula injection);
 * - timestamps in ISO 8601 UTC with milliseconds, extra_info as Postgres prints jsonb.
 */
export const CSV_HEADER = `${EVENT_COLUMNS.join(',')}\n`

/** What starts a formula in a spreadsheet. (papaparse's own pattern, `^[…].*$`, misses values with a line break.) */
export const FORMULA_START = /^[=+\-@\t\r]/

/** A JSON value as Postgres prints jsonb: `{"a": 1, "b": [1, 2]}` (keys in the order the database returned them). */
export function jsonbText(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}: ${jsonbText(x)}`)
    .join(', ')}}`
}

function cell(e: AuditEvent, col: (typeof EVENT_COLUMNS)[number]): string | null {
  const v = e[col]
  if (v == null) return null
  return typeof v === 'object' ? jsonbText(v) : v // an object is extra_info
}

/**
 * One chunk of the events CSV described at {@link CSV_HEADER}. Chunks
 * concatenate: each ends with a line feed.
 *
 * @example
 * res.write(eventsToCsv(page1, { header: true })); res.write(eventsToCsv(page2, { header: false }))
 */
export function eventsToCsv(events: readonly AuditEvent[], { header }: { header: boolean }): string {
  const head = header ? CSV_HEADER : ''
  if (events.length === 0) return head
  const csv = Papa.unparse(
    events.map((e) => EVENT_COLUMNS.map((c) => cell(e, c))),
    { escapeFormulae: FORMULA_START, newline: '\n', quotes: true },
  )
  return `${head}${csv}\n`
}

/** One chunk of newline-delimited JSON: an event a line. */
export function eventsToNdjson(events: readonly AuditEvent[]): string {
  let out = ''
  for (const e of events) out += `${JSON.stringify(e)}\n`
  return out
}
