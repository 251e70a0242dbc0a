import { useEffect, useState } from 'react'
import { RESULTS, SEVERITIES } from '@audit/core/schema'
import type { EventStats } from '@audit/core/schema'
import { PRESETS, containsValue, exactValue, hasFilters, readMatch, type FilterKey, type ViewState } from '../filters.ts'
import { useDebounced } from '../hooks/use-view.ts'
import { formatCount, toLocalInput } from './format.ts'

interface Props {
  view: ViewState
  update: (patch: Partial<ViewState>) => void
  /** Counts in the time range, for the dropdowns (from /stats). */
  facets: EventStats | undefined
  onReset: () => void
}

const RANGE_LABELS: Record<keyof typeof PRESETS, string> = { '1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d' }

/** Every filter of the page; each change goes to the URL and back to page 1. */
export function FiltersBar({ view, update, facets, onReset }: Props) {
  const set = (patch: Partial<ViewState>) => update({ ...patch, page: 1 })

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
        <MatchFilter label="Operation type" value={view.operation_type} counts={facets?.by_operation_type} placeholder="part of a type" onChange={(v) => set({ operation_type: v })} />
        <SelectFilter label="Source" value={view.source} counts={facets?.by_source} onChange={(v) => set({ source: v })} />
        <SelectFilter label="Result" value={view.result} options={RESULTS} counts={facets?.by_result} onChange={(v) => set({ result: v })} />
        <SelectFilter label="Severity" value={view.severity} options={SEVERITIES} counts={facets?.by_severity} onChange={(v) => set({ severity: v })} />
        <MatchFilter label="Operator" value={view.operator} placeholder="email, id or service" onChange={(v) => set({ operator: v })} />
        <TextFilter label="Search" className="grow" type="search" value={view.q} raw placeholder="message, operation or operator" onChange={(v) => set({ q: v })} />
        <button type="button" className="link-button" onClick={onReset} disabled={!hasFilters(view)}>
          Reset
        </button>
      </div>
      <details className="more-filters" open={MORE_FIELDS.some(([k]) => view[k]) || undefined}>
        <summary>More filters</summary>
        <div className="fields">
          {MORE_FIELDS.map(([k, label]) => (
            <TextFilter key={k} label={label} value={view[k]} raw placeholder="exactly" onChange={(v) => set({ [k]: v })} />
          ))}
        </div>
      </details>
      {view.more && Object.keys(view.more).length > 0 && (
        <ul className="chips" aria-label="Field filters">
          {Object.entries(view.more).map(([k, v]) => (
            <li key={k} className={k.startsWith('not.') ? 'chip not' : 'chip'}>
              <span>
                {k.startsWith('not.') ? 'not ' : ''}
                <span className="mono">{k.replace(/^not\./, '')}</span> = <span className="mono">{readMatch(v).text}</span>
              </span>
              <button
                type="button"
                className="icon"
                aria-label={`Remove the filter ${k} = ${readMatch(v).text}`}
                onClick={() => {
                  const rest = Object.fromEntries(Object.entries(view.more ?? {}).filter(([x]) => x !== k))
                  set({ more: Object.keys(rest).length > 0 ? rest : undefined })
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

const MORE_FIELDS = [
  ['tenant_id', 'Tenant'],
  ['actor_type', 'Actor type'],
  ['resource_type', 'Resource type'],
  ['resource_id', 'Resource id'],
  ['request_id', 'Request id'],
] as const satisfies readonly (readonly [FilterKey, string])[]

/** A labelled dropdown whose first option, "All", clears the filter; each option shows its count in the range. */
function SelectFilter({ label, value, options, counts, onChange }: { label: string; value: string | undefined; options?: readonly string[]; counts?: Record<string, number>; onChange: (v: string) => void }) {
  const shown = readMatch(value).text
  const list = [...(options ?? Object.keys(counts ?? {}).sort())]
  if (shown && !list.includes(shown)) list.unshift(shown)
  return (
    <label>
      {label}
      <select value={shown} onChange={(e) => onChange(e.target.value)}>
        <option value="">All</option>
        {list.map((o) => (
          <option key={o} value={o}>
            {counts ? `${o} (${formatCount(counts[o] ?? 0)})` : o}
          </option>
        ))}
      </select>
    </label>
  )
}

/**
 * A field matched exactly or by "contains" (the API's `*part*`): a dropdown
 * with counts (when `counts` is given) or a text box for "is", a text box for
 * "contains".
 */
function MatchFilter({ label, value, counts, placeholder, onChange }: { label: string; value: string | undefined; counts?: Record<string, number>; placeholder: string; onChange: (v: string) => void }) {
  const [mode, setMode] = useState(readMatch(value).mode)
  const [shown, setShown] = useState(value)
  if (shown !== value) {
    setShown(value)
    if (value) setMode(readMatch(value).mode)
  }
  const switchTo = (m: 'is' | 'contains') => {
    setMode(m)
    const t = readMatch(value).text
    if (t) onChange(m === 'contains' ? containsValue(t) : exactValue(t))
  }
  return (
    <span className="match">
      {mode === 'is' && counts ? (
        <SelectFilter label={label} value={value} counts={counts} onChange={(v) => onChange(v && exactValue(v))} />
      ) : (
        <TextFilter label={label} value={value} contains={mode === 'contains'} placeholder={placeholder} onChange={onChange} />
      )}
      <select className="mode" aria-label={`${label} matches`} value={mode} onChange={(e) => switchTo(e.target.value as 'is' | 'contains')}>
        <option value="is">is</option>
        <option value="contains">contains</option>
      </select>
    </span>
  )
}

/**
 * A text filter that reaches the view 300 ms after typing stops; `contains`
 * sends `*text*`, otherwise the text exactly (its stars escaped), `raw` as typed.
 */
function TextFilter(props: { label: string; value: string | undefined; contains?: boolean; raw?: boolean; placeholder: string; type?: string; className?: string; onChange: (v: string) => void }) {
  const { label, value, contains = false, raw = false, placeholder, type = 'text', className, onChange } = props
  const fromView = raw ? (value ?? '') : readMatch(value).text
  const [text, setText] = useState(fromView)
  const debounced = useDebounced(text, 300)
  // the URL changed the view (back, reset, a click-to-filter): the input shows it (set while rendering, not in an effect)
  const [shown, setShown] = useState(value)
  if (shown !== value) {
    setShown(value)
    setText(fromView)
  }
  const encode = (t: string) => (t === '' || raw ? t : contains ? containsValue(t) : exactValue(t))
  useEffect(() => {
    if (encode(debounced) !== (value ?? '')) onChange(encode(debounced))
  }, [debounced]) // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <label className={className}>
      {label}
      <input type={type} value={text} placeholder={placeholder} onChange={(e) => setText(e.target.value)} />
    </label>
  )
}
