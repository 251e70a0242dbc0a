import type { ReactNode } from 'react'
import type { AuditEvent } from '@audit/core/schema'
import { ResultBadge, SeverityBadge } from './Badge.tsx'
import { formatDuration, formatTime, timeTitle, type Zone } from './format.ts'

export interface Column {
  id: string
  label: string
  className?: string
  cell: (e: AuditEvent) => ReactNode
  /** The field a click on the cell filters by (the API's parameter name). */
  field?: 'result' | 'severity' | 'source' | 'operation_type' | 'operator'
}

/** Filter by a field's value, or (`exclude`) leave it out. */
export type OnFilter = (field: string, value: string, exclude: boolean) => void

/** The columns after Time, in order; each can be hidden. */
export const COLUMNS: readonly Column[] = [
  { id: 'result', label: 'Result', field: 'result', cell: (e) => <ResultBadge result={e.result} /> },
  { id: 'severity', label: 'Severity', field: 'severity', cell: (e) => <SeverityBadge severity={e.severity} /> },
  { id: 'source', label: 'Source', className: 'mono', field: 'source', cell: (e) => e.source },
  { id: 'operation_type', label: 'Operation', className: 'mono', field: 'operation_type', cell: (e) => e.operation_type },
  { id: 'operator', label: 'Operator', field: 'operator', cell: (e) => e.operator ?? <span className="muted">—</span> },
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
  onFilter: OnFilter
}

/**
 * The events; the time opens the detail view (a button, so keyboards reach it).
 * Message takes the width the other columns leave; under 700 px each row is a card.
 */
export function EventsTable({ events, loading, stale, zone, hidden, order, onOrder, onOpen, onFilter }: Props) {
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
                      {c.field && e[c.field] != null && <FilterButtons field={c.field} value={e[c.field] as string} onFilter={onFilter} hidden />}
                    </td>
                  ))}
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  )
}

/**
 * "Only this value" and "not this value" for one field. In a table cell they
 * show on hover and stay out of the tab order (`hidden`): the detail view
 * offers the same to keyboards.
 */
export function FilterButtons({ field, value, onFilter, hidden = false }: { field: string; value: string; onFilter: OnFilter; hidden?: boolean }) {
  const click = (exclude: boolean) => (ev: { stopPropagation(): void }) => {
    ev.stopPropagation()
    onFilter(field, value, exclude)
  }
  return (
    <span className={hidden ? 'filter-buttons on-hover' : 'filter-buttons'}>
      <button type="button" className="filter-in" tabIndex={hidden ? -1 : undefined} aria-label={`Only ${field} ${value}`} title={`Only ${field} = ${value}`} onClick={click(false)}>
        +
      </button>
      <button type="button" className="filter-out" tabIndex={hidden ? -1 : undefined} aria-label={`Not ${field} ${value}`} title={`Leave out ${field} = ${value}`} onClick={click(true)}>
        −
      </button>
    </span>
  )
}
