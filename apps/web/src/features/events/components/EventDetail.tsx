import { useEffect, useRef, useState } from 'react'
import type { AuditEvent } from '@audit/core/schema'
import { EVENT_COLUMNS } from '@audit/core/schema'
import { useEvent } from '../api/get-event.ts'
import { ResultBadge, SeverityBadge } from './Badge.tsx'
import { FilterButtons, type OnFilter } from './EventsTable.tsx'
import { JsonTree } from './JsonTree.tsx'
import { formatLocal, formatUtc } from './format.ts'

interface Props {
  id: string
  initial: AuditEvent | undefined
  onClose: () => void
  onFilter: OnFilter
  /** The events before and after this one in the list (j / k, and the buttons). */
  prev?: string
  next?: string
  onNavigate: (id: string) => void
  /** A link to the list of events sharing one field with this one. */
  sameHref: (field: 'request_id' | 'resource_id' | 'operator', value: string) => string
}

/** The columns the API filters by, each with "only" / "not" buttons here. */
const FILTERABLE = new Set(['operation_type', 'result', 'source', 'operator', 'severity', 'tenant_id', 'actor_type', 'resource_type', 'resource_id', 'request_id'])
const EXTRA_KEY = /^[A-Za-z0-9_.:-]{1,100}$/

/** The extra_info entries that `extra.<key>=value` can select: a plain key and a scalar value, compared as text. */
function extraScalars(extra: AuditEvent['extra_info']): [string, string][] {
  if (!extra) return []
  return Object.entries(extra)
    .filter(([k, v]) => EXTRA_KEY.test(k) && v !== null && typeof v !== 'object')
    .map(([k, v]) => [k, String(v as string | number | boolean)])
}

/** One event in full, in a modal dialog with its own URL (?event=<id>). */
export function EventDetail({ id, initial, onClose, onFilter, prev, next, onNavigate, sameHref }: Props) {
  const ref = useRef<HTMLDialogElement>(null)
  const q = useEvent(id, initial)
  const [copied, setCopied] = useState<string | null>(null)
  useEffect(() => {
    const d = ref.current
    if (d && !d.open) d.showModal()
  }, [])
  const e = q.data
  const copy = async (what: string, text: string) => {
    await navigator.clipboard.writeText(text)
    setCopied(what)
    setTimeout(() => setCopied(null), 1500)
  }
  const curl = `curl -H "Authorization: Bearer $AUDIT_KEY" '${new URL(`/api/v1/audit/events/${encodeURIComponent(id)}`, window.location.origin).href}'`
  return (
    <dialog
      ref={ref}
      className="detail"
      aria-labelledby="detail-title"
      onClose={onClose}
      onClick={(ev) => {
        if (ev.target === ref.current) ref.current.close()
      }}
    >
      <header>
        <h2 id="detail-title">{e ? e.operation_type : 'Event'}</h2>
        <nav className="detail-nav" aria-label="Events">
          <button type="button" disabled={!prev} onClick={() => prev && onNavigate(prev)} title="Previous event (k)">
            ← Previous
          </button>
          <button type="button" disabled={!next} onClick={() => next && onNavigate(next)} title="Next event (j)">
            Next →
          </button>
        </nav>
        <button type="button" className="icon" aria-label="Close" onClick={() => ref.current?.close()}>
          ×
        </button>
      </header>
      {q.isError && <p className="error">{q.error.message}</p>}
      {!e && q.isLoading && <p className="muted">Loading…</p>}
      {e && (
        <>
          <div className="detail-summary">
            <ResultBadge result={e.result} /> <SeverityBadge severity={e.severity} />
            <span title={formatUtc(e.timestamp)}>{formatLocal(e.timestamp)}</span>
          </div>
          {e.message && <p className="detail-message">{e.message}</p>}
          <dl className="fields-list">
            {EVENT_COLUMNS.filter((c) => c !== 'extra_info' && c !== 'message').map((c) => (
              <div key={c}>
                <dt>{c}</dt>
                <dd className={c === 'id' || c === 'request_id' ? 'mono' : ''}>
                  {c === 'timestamp' ? `${e.timestamp} (${formatLocal(e.timestamp)})` : (e[c] ?? <span className="muted">—</span>)}
                  {FILTERABLE.has(c) && e[c] != null && <FilterButtons field={c} value={String(e[c])} onFilter={onFilter} />}
                  {c === 'id' && (
                    <button type="button" className="copy" onClick={() => void copy('id', id)}>
                      {copied === 'id' ? 'Copied' : 'Copy id'}
                    </button>
                  )}
                </dd>
              </div>
            ))}
          </dl>
          <h3>extra_info</h3>
          {extraScalars(e.extra_info).length > 0 && (
            <dl className="fields-list extra-fields">
              {extraScalars(e.extra_info).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>
                    {v}
                    <FilterButtons field={`extra.${k}`} value={v} onFilter={onFilter} />
                  </dd>
                </div>
              ))}
            </dl>
          )}
          <JsonTree value={e.extra_info} label="extra_info as JSON" />
          <div className="detail-actions">
            <button type="button" onClick={() => void copy('json', JSON.stringify(e, null, 2))}>
              {copied === 'json' ? 'Copied' : 'Copy as JSON'}
            </button>
            <button type="button" onClick={() => void copy('curl', curl)}>
              {copied === 'curl' ? 'Copied' : 'Copy as curl'}
            </button>
            {e.request_id && <a href={sameHref('request_id', e.request_id)}>Same request id</a>}
            {e.resource_id && <a href={sameHref('resource_id', e.resource_id)}>Same resource</a>}
            {e.operator && <a href={sameHref('operator', e.operator)}>Same operator</a>}
          </div>
        </>
      )}
    </dialog>
  )
}
