import Papa from 'papaparse'
import { EVENT_COLUMNS, type AuditEvent } from './schema/event.ts'

/** A cell as CSV holds it: JSON compact for extra_info, empty for null. */
function cell(e: AuditEvent, col: (typeof EVENT_COLUMNS)[number]): string {
  const v = e[col]
  if (v === null || v === undefined) return ''
  return col === 'extra_info' ? JSON.stringify(v) : String(v)
}

/**
 * One chunk of an events CSV (RFC 4180, CRLF). Formula injection is
 * neutralised: a cell that starts with = + - @ tab or CR is prefixed with a
 * quote (papaparse `escapeFormulae`). Chunks concatenate: each ends with CRLF.
 *
 * @example
 * res.write(eventsToCsv(page1, { header: true })); res.write(eventsToCsv(page2, { header: false }))
 */
export function eventsToCsv(events: readonly AuditEvent[], { header }: { header: boolean }): string {
  if (events.length === 0) return header ? `${EVENT_COLUMNS.join(',')}\r\n` : ''
  const csv = Papa.unparse(
    { fields: [...EVENT_COLUMNS], data: events.map((e) => EVENT_COLUMNS.map((c) => cell(e, c))) },
    { header, escapeFormulae: true, newline: '\r\n', quotes: false },
  )
  return `${csv}\r\n`
}

/** One chunk of newline-delimited JSON: an event a line. */
export function eventsToNdjson(events: readonly AuditEvent[]): string {
  let out = ''
  for (const e of events) out += `${JSON.stringify(e)}\n`
  return out
}
