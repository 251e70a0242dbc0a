import { useEffect, useState } from 'react'
import { RESULTS, SEVERITIES } from '@audit/core/schema'
import { PRESETS, hasFilters, type ViewState } from '../filters.ts'
import { useDebounced } from '../hooks/use-view.ts'
import { toLocalInput } from './format.ts'

interface Props {
  view: ViewState
  update: (patch: Partial<ViewState>) => void
  operationTypes: string[]
  sources: string[]
  onReset: () => void
}

const RANGE_LABELS: Record<keyof typeof PRESETS, string> = { '1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d' }

/** Every filter of the page; each change goes to the URL and back to page 1. */
export function FiltersBar({ view, update, operationTypes, sources, onReset }: Props) {
  const [q, setQ] = useState(view.q ?? '')
  const [operator, setOperator] = useState(view.operator ?? '')
  const dq = useDebounced(q, 300)
  const dop = useDebounced(operator, 300)
  // the URL changed the view (back, reset): the inputs show it (set while rendering, not in an effect)
  const [shown, setShown] = useState({ q: view.q, operator: view.operator })
  if (shown.q !== view.q || shown.operator !== view.operator) {
    setShown({ q: view.q, operator: view.operator })
    if (shown.q !== view.q) setQ(view.q ?? '')
    if (shown.operator !== view.operator) setOperator(view.operator ?? '')
  }
  useEffect(() => {
    if (dq !== (view.q ?? '')) update({ q: dq, page: 1 })
  }, [dq]) // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (dop !== (view.operator ?? '')) update({ operator: dop, page: 1 })
  }, [dop]) // eslint-disable-line react-hooks/exhaustive-deps

  const set = (patch: Partial<ViewState>) => update({ ...patch, page: 1 })
  const withCurrent = (options: string[], current: string | undefined) => (current && !options.includes(current) ? [current, ...options] : options)

  return (
    <section className="filters" aria-label="Filters">
      <div className="range" role="group" aria-label="Time range">
        {(Object.keys(PRESETS) as (keyof typeof PRESETS)[]).map((p) => (
          <button key={p} type="button" className={view.range === p ? 'seg active' : 'seg'} aria-pressed={view.range === p} onClick={() => set({ range: p, start: undefined, end: undefined })}>
            {RANGE_LABELS[p]}
          </button>
        ))}
        <button type="button" className={view.range === 'custom' ? 'seg active' : 'seg'} aria-pressed={view.range === 'custom'} onClick={() => set({ range: 'custom', start: view.start ?? new Date(Date.now() - PRESETS['7d']).toISOString() })}>
          Custom
        </button>
      </div>
      {view.range === 'custom' && (
        <div className="custom-range">
          <label>
            From
            <input type="datetime-local" value={toLocalInput(view.start)} onChange={(e) => set({ start: e.target.value ? new Date(e.target.value).toISOString() : undefined })} />
          </label>
          <label>
            To
            <input type="datetime-local" value={toLocalInput(view.end)} onChange={(e) => set({ end: e.target.value ? new Date(e.target.value).toISOString() : undefined })} />
          </label>
        </div>
      )}
      <div className="fields">
        <SelectFilter label="Operation type" value={view.operation_type} options={withCurrent(operationTypes, view.operation_type)} onChange={(v) => set({ operation_type: v })} />
        <SelectFilter label="Source" value={view.source} options={withCurrent(sources, view.source)} onChange={(v) => set({ source: v })} />
        <SelectFilter label="Result" value={view.result} options={RESULTS} onChange={(v) => set({ result: v })} />
        <SelectFilter label="Severity" value={view.severity} options={SEVERITIES} onChange={(v) => set({ severity: v })} />
        <label>
          Operator
          <input type="text" value={operator} placeholder="email, id or service" onChange={(e) => setOperator(e.target.value)} />
        </label>
        <label className="grow">
          Search
          <input type="search" value={q} placeholder="message, operation or operator" onChange={(e) => setQ(e.target.value)} />
        </label>
        <button type="button" className="link-button" onClick={onReset} disabled={!hasFilters(view)}>
          Reset
        </button>
      </div>
    </section>
  )
}

/** A labelled dropdown whose first option, "All", clears the filter. */
function SelectFilter({ label, value, options, onChange }: { label: string; value: string | undefined; options: readonly string[]; onChange: (v: string) => void }) {
  return (
    <label>
      {label}
      <select value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  )
}
