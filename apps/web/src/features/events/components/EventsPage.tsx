import { useEffect, useMemo, useRef, useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import type { AuditEvent } from '@audit/core/schema'
import { ApiError } from '../../../lib/api-client.ts'
import { clearToken } from '../../../lib/auth.ts'
import { FirstRun } from './FirstRun.tsx'
import { LiveControls } from './LiveControls.tsx'
import { useLiveTail } from '../api/stream-events.ts'
import { useEvents } from '../api/get-events.ts'
import { useMe } from '../api/get-me.ts'
import { useStats } from '../api/get-stats.ts'
import { DEFAULT_VIEW, apiFilters, exactValue, filterPatch, withoutFilters, writeView } from '../filters.ts'
import { usePrefs } from '../hooks/use-prefs.ts'
import { useView } from '../hooks/use-view.ts'
import { TableTools } from './TableTools.tsx'
import { EventDetail } from './EventDetail.tsx'
import { EventsTable } from './EventsTable.tsx'
import { ExportDialog } from './ExportDialog.tsx'
import { FiltersBar } from './FiltersBar.tsx'
import { Histogram } from './Histogram.tsx'
import { Pagination } from './Pagination.tsx'
import { PurgeDialog } from './PurgeDialog.tsx'
import { ESTIMATE_TITLE, formatCount, formatTotal } from './format.ts'
import { TrailStatus } from '../../trail/components/TrailStatus.tsx'

const REFRESH_MS = 30_000
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** The page; `signOut(rejected)` returns to the sign-in form. */
export function EventsPage({ signOut }: { signOut: (rejected: boolean) => void }) {
  const qc = useQueryClient()
  const [view, update] = useView()
  // "Last 7 days" counts back from this instant, fixed until the next refresh so the query stays the same query.
  const [anchor, setAnchor] = useState(() => Date.now())
  const [auto, setAuto] = useState(false)
  const [dialog, setDialog] = useState<'export' | 'purge' | null>(null)
  const [prefs, setPrefs] = usePrefs()
  const interval = false as const

  const filters = useMemo(() => apiFilters(view, anchor), [view, anchor])
  const rangeOnly = useMemo(() => ({ start_date: filters.start_date, end_date: filters.end_date }), [filters.start_date, filters.end_date])
  const me = useMe()
  const events = useEvents({ ...filters, limit: view.size, offset: (view.page - 1) * view.size, order: view.order }, interval)
  const stats = useStats(filters, interval)
  const [live, setLive] = useState({ on: false, paused: false })
  const tail = useLiveTail(filters, live.on, live.paused)
  const facets = useStats(rangeOnly, interval)

  const unauthorized = [me.error, events.error].some((e) => e instanceof ApiError && e.status === 401)
  useEffect(() => {
    if (!unauthorized) return
    clearToken()
    signOut(true)
  }, [unauthorized, signOut])

  // a refresh during an outage keeps the table it had (a new anchor is a new query, with no data of its own)
  const [lastGood, setLastGood] = useState(events.data)
  if (events.data && !events.isPlaceholderData && events.data !== lastGood) setLastGood(events.data)
  const page = events.data ?? (events.isError ? lastGood : undefined)

  const refresh = () => {
    setAnchor(Date.now())
    void qc.invalidateQueries({ queryKey: ['audit-events'] })
  }
  // auto-refresh moves the window: "last 1 hour" stays the last hour
  useEffect(() => {
    if (!auto) return
    const t = setInterval(() => {
      setAnchor(Date.now())
      void qc.invalidateQueries({ queryKey: ['audit-events'] })
    }, REFRESH_MS)
    return () => clearInterval(t)
  }, [auto, qc])

  // ?page=99999: past the last page, go to the last one
  const lastPage = page?.total_exact ? Math.max(1, Math.ceil(page.total / view.size)) : undefined
  useEffect(() => {
    if (lastPage !== undefined && view.page > lastPage && !events.isPlaceholderData) update({ page: lastPage }, { replace: true })
  }, [lastPage, view.page, events.isPlaceholderData, update])

  // past AUDIT_COUNT_CAP the list's total is an estimate; /stats counts exactly, and replaces it when it answers
  const counted = stats.data && !stats.isPlaceholderData ? stats.data.total : undefined
  const total = counted ?? page?.total ?? 0
  const exact = counted !== undefined || (page?.total_exact ?? true)
  // a dialog is not a place in history: opening and closing replace the entry
  const open = (e: AuditEvent) => update({ event: e.id }, { replace: true })
  // live rows go on top of the first page of the newest-first table
  const liveRows = live.on && view.page === 1 && view.order !== 'asc' ? tail.events : []
  const rows = liveRows.length ? [...liveRows, ...(page?.events ?? []).filter((e) => !liveRows.some((l) => l.id === e.id))] : (page?.events ?? [])
  // click-to-filter from a cell or the detail view: the detail closes on the filtered list
  const filterBy = (field: string, value: string, exclude: boolean) => update({ ...filterPatch(view, field, value, exclude), event: undefined })
  // the events around the open one, in the list's order
  const at = view.event ? rows.findIndex((e) => e.id === view.event) : -1
  const prevId = at > 0 ? rows[at - 1]?.id : undefined
  const nextId = at >= 0 ? rows[at + 1]?.id : undefined
  const sameHref = (field: 'request_id' | 'resource_id' | 'operator', value: string) =>
    `${window.location.pathname}${writeView({ ...DEFAULT_VIEW, range: view.range, start: view.start, end: view.end, size: view.size, [field]: field === 'operator' ? exactValue(value) : value })}`

  // keyboard: / searches, j / k open the next / previous event
  const keys = useRef({ rows, at, update })
  useEffect(() => {
    keys.current = { rows, at, update }
  })
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      const t = ev.target as HTMLElement | null
      if (ev.ctrlKey || ev.metaKey || ev.altKey || (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName)))) return
      const { rows, at, update } = keys.current
      if (ev.key === '/') {
        const search = document.querySelector<HTMLInputElement>('.filters input[type="search"]')
        if (!search || document.querySelector('dialog[open]')) return
        ev.preventDefault()
        search.focus()
      } else if (ev.key === 'j' || ev.key === 'k') {
        const to = at < 0 ? (ev.key === 'j' ? rows[0] : rows[rows.length - 1]) : rows[at + (ev.key === 'j' ? 1 : -1)]
        if (to) update({ event: to.id }, { replace: true })
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])
  const updatedAt = events.dataUpdatedAt ? time.format(new Date(events.dataUpdatedAt)) : null

  return (
    <div className="page">
      <a className="skip-link" href="#main">
        Skip to the events
      </a>
      <header className="topbar">
        <h1>Audit events</h1>
        <div className="topbar-right">
          <TrailStatus />
          <label className="toggle">
            <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} />
            Auto-refresh (30 s)
          </label>
          <LiveControls on={live.on} paused={live.paused} status={tail.status} shown={tail.events.length} dropped={tail.dropped} onToggle={(on) => setLive({ on, paused: false })} onPause={(paused) => setLive({ on: true, paused })} />
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
              signOut(false)
            }}
          >
            Sign out
          </button>
        </div>
      </header>

      <main id="main" tabIndex={-1}>
      <FiltersBar
        view={view}
        update={update}
        facets={facets.data}
        onReset={() => update({ ...withoutFilters(), range: DEFAULT_VIEW.range, start: undefined, end: undefined, event: undefined })}
      />

      {/* busy until /stats answers for these filters: the counts beside the total are the previous filters' until then */}
      <section className="summary" aria-label="Summary" aria-busy={stats.isPlaceholderData || stats.isLoading}>
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
        <Histogram stats={stats.data} onZoom={(start, end) => update({ range: 'custom', start, end, page: 1 })} />
        <div className="actions">
          <button type="button" onClick={() => setDialog('export')} disabled={total === 0}>
            Export…
          </button>
          {me.data?.role === 'admin' && (
            <button type="button" className="danger-outline" onClick={() => setDialog('purge')} disabled={total === 0}>
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
      ) : page?.events.length === 0 && page.total === 0 && !events.isPlaceholderData ? (
        <div className="state empty-state">
          <FirstRun />
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
          <TableTools prefs={prefs} setPrefs={setPrefs} />
          <EventsTable
            events={rows}
            loading={events.isLoading}
            stale={events.isPlaceholderData}
            zone={prefs.zone}
            hidden={prefs.hidden}
            widths={prefs.widths}
            onWidths={(widths) => setPrefs({ widths })}
            order={view.order ?? 'desc'}
            onOrder={(o) => update({ order: o === 'asc' ? 'asc' : undefined, page: 1 })}
            onOpen={open}
            onFilter={filterBy}
          />
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

      </main>
      {view.event && <EventDetail key={view.event} id={view.event} initial={page?.events.find((e) => e.id === view.event)} onClose={() => update({ event: undefined }, { replace: true })} onFilter={filterBy} prev={prevId} next={nextId} onNavigate={(id) => update({ event: id }, { replace: true })} sameHref={sameHref} />}
      {dialog === 'purge' && <PurgeDialog filters={filters} onClose={() => setDialog(null)} />}
      {dialog === 'export' && <ExportDialog filters={filters} onClose={() => setDialog(null)} />}
      <footer className="foot muted small">
        {view.range === 'custom' ? 'Custom range' : `Last ${view.range.replace('h', ' hours').replace('d', ' days')}`} · {prefs.zone === 'utc' ? 'times in UTC' : `times in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone})`} ·{' '}
        <a href="/docs">API docs</a>
      </footer>
    </div>
  )
}
