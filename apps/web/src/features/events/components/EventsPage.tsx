import { useMemo, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import type { AuditEvent } from '@audit/core/schema'
import { ApiError } from '../../../lib/api-client.ts'
import { clearToken } from '../../../lib/auth.ts'
import { useEvents } from '../api/get-events.ts'
import { useMe } from '../api/get-me.ts'
import { useStats } from '../api/get-stats.ts'
import { DEFAULT_VIEW, apiFilters } from '../filters.ts'
import { useView } from '../hooks/use-view.ts'
import { EventDetail } from './EventDetail.tsx'
import { EventsTable } from './EventsTable.tsx'
import { ExportButton } from './ExportButton.tsx'
import { FiltersBar } from './FiltersBar.tsx'
import { Histogram } from './Histogram.tsx'
import { Pagination } from './Pagination.tsx'
import { PurgeDialog } from './PurgeDialog.tsx'
import { ESTIMATE_TITLE, formatCount, formatTotal } from './format.ts'
import { SignIn } from '../../auth/components/SignIn.tsx'
import { TrailStatus } from '../../trail/components/TrailStatus.tsx'

const REFRESH_MS = 30_000
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

export function EventsPage() {
  const qc = useQueryClient()
  const [view, update] = useView()
  // "Last 7 days" counts back from this instant, fixed until the next refresh so the query stays the same query.
  const [anchor, setAnchor] = useState(() => Date.now())
  const [auto, setAuto] = useState(false)
  const [purging, setPurging] = useState(false)
  const interval = auto ? REFRESH_MS : false

  const filters = useMemo(() => apiFilters(view, anchor), [view, anchor])
  const rangeOnly = useMemo(() => ({ start_date: filters.start_date, end_date: filters.end_date }), [filters.start_date, filters.end_date])
  const me = useMe()
  const events = useEvents({ ...filters, limit: view.size, offset: (view.page - 1) * view.size }, interval)
  const stats = useStats(filters, interval)
  const facets = useStats(rangeOnly, interval)

  const unauthorized = [me.error, events.error].some((e) => e instanceof ApiError && e.status === 401)
  if (unauthorized) {
    return (
      <SignIn
        rejected={me.isError}
        onSignedIn={() => {
          void qc.resetQueries()
        }}
      />
    )
  }

  const page = events.data
  const total = page?.total ?? 0
  const exact = page?.total_exact ?? true
  const open = (e: AuditEvent) => update({ event: e.id })
  const refresh = () => {
    setAnchor(Date.now())
    void qc.invalidateQueries({ queryKey: ['audit-events'] })
  }
  const updatedAt = events.dataUpdatedAt ? time.format(new Date(events.dataUpdatedAt)) : null

  return (
    <div className="page">
      <header className="topbar">
        <h1>Audit events</h1>
        <div className="topbar-right">
          <TrailStatus />
          <label className="toggle">
            <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} />
            Auto-refresh (30 s)
          </label>
          {updatedAt && <span className="muted small">updated {updatedAt}</span>}
          <button type="button" onClick={refresh}>
            Refresh
          </button>
          {me.data && (
            <span className="who" title={`role: ${me.data.role}`}>
              {me.data.name} · {me.data.role}
            </span>
          )}
          <button
            type="button"
            className="link-button"
            onClick={() => {
              clearToken()
              void qc.resetQueries()
            }}
          >
            Sign out
          </button>
        </div>
      </header>

      <FiltersBar
        view={view}
        update={update}
        operationTypes={Object.keys(facets.data?.by_operation_type ?? {}).sort()}
        sources={Object.keys(facets.data?.by_source ?? {}).sort()}
        onReset={() => update({ ...DEFAULT_VIEW, size: view.size, start: undefined, end: undefined, operation_type: undefined, source: undefined, result: undefined, severity: undefined, operator: undefined, q: undefined, event: undefined })}
      />

      <section className="summary" aria-label="Summary">
        <div className="totals">
          <strong data-testid="total" title={exact ? undefined : ESTIMATE_TITLE}>
            {formatTotal(total, exact)}
          </strong>{' '}
          events
          {stats.data && (
            <span className="by-result">
              <span className="dot success" /> {formatCount(stats.data.by_result.success ?? 0)}
              <span className="dot warning" /> {formatCount(stats.data.by_result.warning ?? 0)}
              <span className="dot failure" /> {formatCount(stats.data.by_result.failure ?? 0)}
            </span>
          )}
        </div>
        <Histogram stats={stats.data} />
        <div className="actions">
          <ExportButton filters={filters} total={total} exact={exact} />
          {me.data?.role === 'admin' && (
            <button type="button" className="danger-outline" onClick={() => setPurging(true)} disabled={total === 0}>
              Delete…
            </button>
          )}
        </div>
      </section>

      {events.isError && !page ? (
        <div className="state error-state" role="alert">
          <p>Could not load events: {events.error.message}</p>
          <button type="button" onClick={() => void events.refetch()}>
            Retry
          </button>
        </div>
      ) : page?.events.length === 0 && !events.isPlaceholderData ? (
        <div className="state empty-state">
          <p>
            <strong>No events in this range.</strong>
          </p>
          <p className="muted">Widen the time range or clear some filters.</p>
          {view.range !== '30d' && (
            <button type="button" onClick={() => update({ range: '30d', start: undefined, end: undefined, page: 1 })}>
              Show the last 30 days
            </button>
          )}
        </div>
      ) : (
        <>
          {events.isError && (
            <p className="error small" role="alert">
              Refresh failed: {events.error.message}
            </p>
          )}
          <EventsTable events={page?.events ?? []} loading={events.isLoading} stale={events.isPlaceholderData} onOpen={open} />
          <Pagination
            page={view.page}
            size={view.size}
            total={total}
            exact={exact}
            hasMore={page?.has_more ?? false}
            shown={page?.events.length ?? 0}
            onPage={(p) => update({ page: p })}
            onSize={(s) => update({ size: s, page: 1 })}
          />
        </>
      )}

      {view.event && <EventDetail key={view.event} id={view.event} initial={page?.events.find((e) => e.id === view.event)} onClose={() => update({ event: undefined })} />}
      {purging && <PurgeDialog filters={filters} count={total} exact={exact} onClose={() => setPurging(false)} />}
      <footer className="foot muted small">
        {view.range === 'custom' ? 'Custom range' : `Last ${view.range.replace('h', ' hours').replace('d', ' days')}`} · times in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}) ·{' '}
        <a href="/docs">API docs</a>
      </footer>
    </div>
  )
}
