import type { AuditEvent } from '@audit/core/schema'
import { ResultBadge, SeverityBadge } from './Badge.tsx'
import { formatDuration, formatLocal, formatUtc } from './format.ts'

interface Props {
  events: AuditEvent[]
  loading: boolean
  stale: boolean
  onOpen: (e: AuditEvent) => void
}

/** The events, newest first; the time opens the detail view (a button, so keyboards reach it). */
export function EventsTable({ events, loading, stale, onOpen }: Props) {
  return (
    <div className="table-wrap" aria-busy={loading || stale}>
      <table className={stale ? 'events stale' : 'events'}>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Result</th>
            <th scope="col">Severity</th>
            <th scope="col">Source</th>
            <th scope="col">Operation</th>
            <th scope="col">Operator</th>
            <th scope="col" className="msg-col">Message</th>
            <th scope="col" className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {loading && events.length === 0
            ? Array.from({ length: 8 }, (_, i) => (
                <tr key={i} className="skeleton">
                  {Array.from({ length: 8 }, (_, j) => (
                    <td key={j}>
                      <span />
                    </td>
                  ))}
                </tr>
              ))
            : events.map((e) => (
                <tr key={e.id} data-id={e.id} onClick={() => onOpen(e)}>
                  <td className="time">
                    <button
                      type="button"
                      className="time-button"
                      title={formatUtc(e.timestamp)}
                      onClick={(ev) => {
                        ev.stopPropagation()
                        onOpen(e)
                      }}
                    >
                      {formatLocal(e.timestamp)}
                    </button>
                  </td>
                  <td>
                    <ResultBadge result={e.result} />
                  </td>
                  <td>
                    <SeverityBadge severity={e.severity} />
                  </td>
                  <td className="mono">{e.source}</td>
                  <td className="mono">{e.operation_type}</td>
                  <td className="operator">{e.operator ?? <span className="muted">—</span>}</td>
                  <td className="msg" title={e.message ?? ''}>
                    {e.message}
                  </td>
                  <td className="num">{formatDuration(e.extra_info)}</td>
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  )
}
