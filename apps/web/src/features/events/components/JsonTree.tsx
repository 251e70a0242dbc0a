import type { ReactNode } from 'react'

type Json = string | number | boolean | null | Json[] | { [k: string]: Json }

/**
 * JSON laid out as `JSON.stringify(v, null, 2)` would, with each object and
 * array a `<details>` that collapses, and strings showing their line breaks
 * (a `\n` in a value starts a new line instead of reading as backslash-n).
 */
export function JsonTree({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json" tabIndex={0} role="group" aria-label={label}>
      <Node value={value as Json} last />
    </div>
  )
}

function Node({ name, value, last }: { name?: string; value: Json; last: boolean }) {
  const key = name === undefined ? null : <span className="json-key">{JSON.stringify(name)}: </span>
  const comma = last ? '' : ','
  if (value !== null && typeof value === 'object') {
    const entries: [string | undefined, Json][] = Array.isArray(value) ? value.map((v) => [undefined, v]) : Object.entries(value)
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
    if (entries.length === 0) return <div className="json-line">{key}{open}{close}{comma}</div>
    return (
      <details open className="json-node">
        <summary>
          {key}
          {open}
          <span className="json-count"> {entries.length} {Array.isArray(value) ? 'items' : 'keys'} </span>
        </summary>
        <div className="json-children">
          {entries.map(([k, v], i) => (
            <Node key={k ?? i} name={k} value={v} last={i === entries.length - 1} />
          ))}
        </div>
        <div className="json-line">
          {close}
          {comma}
        </div>
      </details>
    )
  }
  return (
    <div className="json-line">
      {key}
      {scalar(value)}
      {comma}
    </div>
  )
}

function scalar(v: string | number | boolean | null): ReactNode {
  if (typeof v !== 'string') return <span className="json-lit">{String(v)}</span>
  // the quotes and escapes of JSON, but a line break stays a line break
  const inner = v
    .split('\n')
    .map((line) => JSON.stringify(line).slice(1, -1))
    .join('\n')
  return <span className="json-str">&quot;{inner}&quot;</span>
}
