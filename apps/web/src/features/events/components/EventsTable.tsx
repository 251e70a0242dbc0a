import { useLayoutEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react'
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
  /** Widths (px) of resized columns; `onWidths` sets them (Message is never resized: it takes what is left). */
  widths: Readonly<Record<string, number>>
  onWidths: (widths: Record<string, number>) => void
  order: 'asc' | 'desc'
  onOrder: (order: 'asc' | 'desc') => void
  onOpen: (e: AuditEvent) => void
  onFilter: OnFilter
}

/**
 * The events; the time opens the detail view (a button, so keyboards reach it).
 * Message takes the width the other columns leave; under 700 px each row is a card.
 */
export function EventsTable({ events, loading, stale, zone, hidden, widths, onWidths, order, onOrder, onOpen, onFilter }: Props) {
  const cols = COLUMNS.filter((c) => !hidden.includes(c.id))
  // the width of the column being dragged, kept here until the pointer is released
  const [drag, setDrag] = useState<{ id: string; px: number } | null>(null)
  const width = (id: string) => (drag?.id === id ? drag.px : widths[id])
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
              <th key={c.id} scope="col" className={`col-${c.id}${c.className === 'num' ? ' num' : ''}`} style={width(c.id) ? { width: width(c.id) } : undefined}>
                <span className="th-label">{c.label}</span>
                {c.id !== FLEXIBLE && (
                  <ResizeHandle
                    label={c.label}
                    width={width(c.id)}
                    onDrag={(px) => setDrag(px === null ? null : { id: c.id, px })}
                    onWidth={(px) => {
                      setDrag(null)
                      onWidths({ ...widths, [c.id]: px })
                    }}
                  />
                )}
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

/** The column that takes the width the others leave, never under MESSAGE_MIN px. */
const FLEXIBLE = 'message'
const MESSAGE_MIN = 256
const STEP = 16

/**
 * The bounds a column can be resized within, measured now: at least its
 * label's width, at most what Message can give up and keep its minimum.
 */
function bounds(th: HTMLElement) {
  const now = th.getBoundingClientRect().width
  const label = th.querySelector('.th-label')
  const cs = getComputedStyle(th)
  const min = Math.ceil((label?.scrollWidth ?? 0) + parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight))
  const msg = th.closest('tr')?.querySelector(`th.col-${FLEXIBLE}`)
  const spare = msg && getComputedStyle(msg).display !== 'none' ? msg.getBoundingClientRect().width - MESSAGE_MIN : 480
  return { now, min, max: Math.max(now, now + spare) }
}

const clamp = (px: number, b: { min: number; max: number }) => Math.round(Math.min(b.max, Math.max(b.min, px)))
const th = (el: Element) => el.closest('th') as HTMLElement

/**
 * The edge of a column header: drag it, or focus it and press ArrowLeft or
 * ArrowRight, to make the column narrower or wider.
 */
function ResizeHandle({ label, width, onDrag, onWidth }: { label: string; width: number | undefined; onDrag: (px: number | null) => void; onWidth: (px: number) => void }) {
  const start = useRef<{ x: number; now: number; min: number; max: number; px: number } | null>(null)
  const self = useRef<HTMLDivElement>(null)
  // the width and range as laid out, for assistive technology (a focusable separator states its value)
  const [range, setRange] = useState({ now: 0, min: 0, max: 0 })
  useLayoutEffect(() => {
    const cell = self.current && th(self.current)
    if (!cell) return
    const measure = () => {
      const b = bounds(cell)
      const r = { now: Math.round(b.now), min: Math.min(b.min, Math.round(b.now)), max: Math.round(b.max) }
      setRange((prev) => (r.now === prev.now && r.min === prev.min && r.max === prev.max ? prev : r))
    }
    measure()
    // this column's width and Message's room change with the viewport and the other columns
    const observer = new ResizeObserver(measure)
    for (const h of Array.from(cell.parentElement?.children ?? [])) observer.observe(h)
    return () => observer.disconnect()
  }, [])
  const down = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return
    e.preventDefault()
    e.currentTarget.setPointerCapture(e.pointerId)
    const b = bounds(th(e.currentTarget))
    start.current = { x: e.clientX, ...b, px: Math.round(b.now) }
  }
  const move = (e: PointerEvent<HTMLDivElement>) => {
    const s = start.current
    if (!s) return
    s.px = clamp(s.now + e.clientX - s.x, s)
    onDrag(s.px)
  }
  const up = () => {
    const s = start.current
    start.current = null
    if (s && s.px !== Math.round(s.now)) onWidth(s.px)
    else onDrag(null)
  }
  const key = (e: KeyboardEvent<HTMLDivElement>) => {
    const sign = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0
    if (!sign) return
    e.preventDefault()
    const b = bounds(th(e.currentTarget))
    onWidth(clamp(b.now + sign * STEP, b))
  }
  return (
    <div
      role="separator"
      aria-orientation="vertical"
      aria-label={`Resize ${label} column`}
      aria-valuenow={range.now}
      aria-valuemin={range.min}
      aria-valuemax={range.max}
      aria-valuetext={`${range.now} pixels${width === undefined ? ' (default)' : ''}`}
      ref={self}
      tabIndex={0}
      className="col-resize"
      title="Drag, or use the arrow keys, to resize"
      onPointerDown={down}
      onPointerMove={move}
      onPointerUp={up}
      onPointerCancel={up}
      onKeyDown={key}
    />
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
