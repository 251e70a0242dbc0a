import type { ReactNode } from 'react'
import type { AuditEvent } from '@audit/core/schema'
import { ResultBadge, SeverityBadge } from './Badge.tsx'
import { formatDuration, formatTime, timeTitle, type Zone } from './format.ts'

export interface Column {
  id: string
  label: string
  className?: string
  cell: (e: AuditEvent) => ReactNode
}

/** The columns after Time, in order; each can be hidden. */
export const COLUMNS: readonly Column[] = [
  { id: 'result', label: 'Result', cell: (e) => <ResultBadge result={e.result} /> },
  { id: 'severity', label: 'Severity', cell: (e) => <SeverityBadge severity={e.severity} /> },
  { id: 'source', label: 'Source', className: 'mono', cell: (e) => e.source },
  { id: 'operation_type', label: 'Operation', className: 'mono', cell: (e) => e.operation_type },
  { id: 'operator', label: 'Operator', cell: (e) => e.operator ?? <span className="muted">—</span> },
  { id: 'message', label: 'Message', className: 'msg', cell: (e) => e.message },
  { id: 'duration', label: 'Duration', className: 'num', cell: (e) => formatDuration(e.extra_info) },
]

interface Props {
  events: AuditEvent[]
  loading: boolean
  stale: boolean
  zone: Zone
  hidden: readonly string[]
  order: 'asc' | 'desc'
  onOrder: (order: 'asc' | 'desc') => void
  onOpen: (e: AuditEvent) => void
}

/**
 * The events; the time opens the detail view (a button, so keyboards reach it).
 * Message takes the width the other columns leave; under 700 px each row is a card.
 */
export function EventsTable({ events, loading, stale, zone, hidden, order, onOrder, onOpen }: Props) {
  const cols = COLUMNS.filter((c) => !hidden.includes(c.id))
  const sort = order === 'desc' ? 'descending' : 'ascending'
  return (
    <div className="table-wrap" aria-busy={loading || stale}>
      <table className={stale ? 'events stale' : 'events'}>
        <thead>
          <tr>
            <th scope="col" className="col-time" aria-sort={sort}>
              <button type="button" className="sort" onClick={() => onOrder(order === 'desc' ? 'asc' : 'desc')} title={`Sorted ${order === 'desc' ? 'newest' : 'oldest'} first; click to reverse`}>
                Time <span aria-hidden="true">{order === 'desc' ? '↓' : '↑'}</span>
              </button>
            </th>
            {cols.map((c) => (
              <th key={c.id} scope="col" className={`col-${c.id}${c.className === 'num' ? ' num' : ''}`}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {loading && events.length === 0
            ? Array.from({ length: 8 }, (_, i) => (
                <tr key={i} className="skeleton">
                  {Array.from({ length: cols.length + 1 }, (_, j) => (
                    <td key={j}>
                      <span />
                    </td>
                  ))}
                </tr>
              ))
            : events.map((e) => (
                <tr key={e.id} data-id={e.id} onClick={() => onOpen(e)}>
                  <td className="col-time">
                    <button
                      type="button"
                      className="time-button"
                      title={timeTitle(e.timestamp, zone)}
                      onClick={(ev) => {
                        ev.stopPropagation()
                        onOpen(e)
                      }}
                    >
                      <time dateTime={e.timestamp}>{formatTime(e.timestamp, zone)}</time>
                    </button>
                  </td>
                  {cols.map((c) => (
                    <td key={c.id} className={`col-${c.id}${c.className ? ` ${c.className}` : ''}`} data-label={c.label} title={c.id === 'message' ? (e.message ?? '') : undefined}>
                      {c.cell(e)}
                    </td>
                  ))}
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  )
}
