import { useRef, useState, type KeyboardEvent, type PointerEvent } from 'react'

const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const

/**
 * Drag across the histogram to select a time range, then release to zoom to
 * it (a click zooms to one bar). From the keyboard: focus it, arrows pick a
 * bar, Shift+arrows widen the selection, Enter zooms, Escape clears.
 */
export function HistogramBrush({
  starts,
  bucket,
  format,
  onZoom,
}: {
  /** The buckets' start times, oldest first. */
  starts: string[]
  bucket: keyof typeof BUCKET_MS
  format: (d: Date) => string
  onZoom: (start: string, end: string) => void
}) {
  const ref = useRef<HTMLDivElement>(null)
  const [sel, setSel] = useState<{ a: number; b: number } | null>(null)
  const dragging = useRef(false)
  const n = starts.length
  const lo = sel ? Math.min(sel.a, sel.b) : 0
  const hi = sel ? Math.max(sel.a, sel.b) : 0
  const range = (from: number, to: number) => {
    const start = starts[from] as string
    const end = new Date(Date.parse(starts[to] as string) + BUCKET_MS[bucket] - 1).toISOString()
    return { start, end }
  }
  const zoom = () => {
    if (!sel) return
    const r = range(lo, hi)
    setSel(null)
    onZoom(r.start, r.end)
  }
  const at = (e: PointerEvent) => {
    const box = ref.current?.getBoundingClientRect()
    if (!box || box.width === 0) return 0
    return Math.max(0, Math.min(n - 1, Math.floor(((e.clientX - box.left) / box.width) * n)))
  }
  const onKey = (e: KeyboardEvent) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[e.key]
    if (step !== undefined) {
      e.preventDefault()
      const head = sel ? Math.max(0, Math.min(n - 1, sel.b + step)) : step < 0 ? n - 1 : 0
      setSel(sel && e.shiftKey ? { a: sel.a, b: head } : { a: head, b: head })
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault()
      const head = e.key === 'Home' ? 0 : n - 1
      setSel(sel && e.shiftKey ? { a: sel.a, b: head } : { a: head, b: head })
    } else if (e.key === 'Enter' && sel) {
      e.preventDefault()
      zoom()
    } else if (e.key === 'Escape' && sel) {
      e.stopPropagation()
      setSel(null)
    }
  }
  const said = sel ? `${format(new Date(range(lo, hi).start))} to ${format(new Date(range(lo, hi).end))} selected: Enter zooms to it, Escape clears` : ''
  return (
    <div
      ref={ref}
      className="brush"
      role="group"
      tabIndex={0}
      aria-label="Zoom: drag across the histogram, or use the arrow keys (Shift to widen) and Enter"
      data-testid="histogram-brush"
      onPointerDown={(e) => {
        if (e.button !== 0) return
        e.currentTarget.setPointerCapture(e.pointerId)
        dragging.current = true
        const i = at(e)
        setSel({ a: i, b: i })
      }}
      onPointerMove={(e) => {
        if (dragging.current && sel) setSel({ a: sel.a, b: at(e) })
      }}
      onPointerUp={() => {
        if (!dragging.current) return
        dragging.current = false
        zoom()
      }}
      onKeyDown={onKey}
      onBlur={() => {
        if (!dragging.current) setSel(null)
      }}
    >
      {sel && <span className="brush-sel" style={{ left: `${(lo / n) * 100}%`, width: `${((hi - lo + 1) / n) * 100}%` }} />}
      <span className="sr-only" aria-live="polite">
        {said}
      </span>
    </div>
  )
}
