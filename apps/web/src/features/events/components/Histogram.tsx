import type { EventStats } from '@audit/core/schema'
import { formatCount } from './format.ts'
import { HistogramBrush } from './HistogramBrush.tsx'

const H = 72
const KINDS = ['success', 'warning', 'failure'] as const

/** Events over time, stacked by result; one bar a bucket. With `onZoom`, a range can be brushed to zoom to it. */
export function Histogram({ stats, onZoom }: { stats: EventStats | undefined; onZoom?: (start: string, end: string) => void }) {
  const points = stats?.histogram.points ?? []
  const first = points[0]
  const last = points.at(-1)
  if (!first || !last) return <div className="histogram empty" aria-hidden="true" />
  const max = Math.max(1, ...points.map((p) => p.success + p.warning + p.failure))
  const w = 100 / points.length
  const fmt = new Intl.DateTimeFormat(undefined, stats?.histogram.bucket === 'hour' ? { month: 'short', day: 'numeric', hour: '2-digit' } : { month: 'short', day: 'numeric' })
  return (
    <figure className="histogram">
      <div className="histogram-plot">
      <svg viewBox={`0 0 100 ${H}`} preserveAspectRatio="none" role="img" aria-label={`Events per ${stats?.histogram.bucket}, by result, from ${fmt.format(new Date(first.start))} to ${fmt.format(new Date(last.start))}`}>
        {points.map((p, i) => {
          let y = H
          return (
            <g key={p.start}>
              <title>{`${fmt.format(new Date(p.start))}: ${formatCount(p.success)} success, ${formatCount(p.warning)} warning, ${formatCount(p.failure)} failure`}</title>
              {KINDS.map((k) => {
                const h = (p[k] / max) * (H - 2)
                y -= h
                return h > 0 ? <rect key={k} className={`bar-${k}`} x={i * w + w * 0.1} y={y} width={w * 0.8} height={h} /> : null
              })}
            </g>
          )
        })}
      </svg>
      {onZoom && points.length > 0 && stats && <HistogramBrush starts={points.map((p) => p.start)} bucket={stats.histogram.bucket} format={(d) => fmt.format(d)} onZoom={onZoom} />}
      </div>
      <figcaption>
        <span>{fmt.format(new Date(first.start))}</span>
        <span className="legend">
          {KINDS.map((k) => (
            <span key={k}>
              <i className={`swatch bar-${k}`} /> {k}
            </span>
          ))}
        </span>
        <span>{fmt.format(new Date(last.start))}</span>
      </figcaption>
    </figure>
  )
}
