import { useEffect, useRef, useState } from 'react'
import { canPickFile, exportByLink, exportToFile, useExportPreview, type ExportFormat, type ExportProgress } from '../api/export-events.ts'
import { formatCount } from './format.ts'

type State = { step: 'choose' } | { step: 'running'; progress: ExportProgress } | { step: 'done'; rows: number; name: string; byBrowser?: boolean } | { step: 'failed'; message: string } | { step: 'cancelled' }

/**
 * Every event the filters match, as CSV or NDJSON: the dialog counts them
 * exactly (HEAD of the export), then streams the file with progress; Cancel
 * stops the download.
 */
export function ExportDialog({ filters, onClose }: { filters: Record<string, string | undefined>; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null)
  const [opened] = useState(() => Date.now())
  const [target] = useState<Record<string, string | undefined> & { end_date: string }>(() => ({ ...filters, end_date: filters.end_date ?? new Date(opened).toISOString() }))
  const preview = useExportPreview(target, opened)
  const [format, setFormat] = useState<ExportFormat>('csv')
  const [bom, setBom] = useState(false)
  const [state, setState] = useState<State>({ step: 'choose' })
  const abort = useRef<AbortController | null>(null)
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal()
    return () => abort.current?.abort()
  }, [])
  const total = preview.data?.total
  const name = preview.data ? `${preview.data.name}.${format}` : ''

  const start = async () => {
    if (total === undefined) return
    const ctl = new AbortController()
    abort.current = ctl
    setState({ step: 'running', progress: { rows: 0, total } })
    const onProgress = (progress: ExportProgress) => setState({ step: 'running', progress })
    try {
      if (!canPickFile()) {
        setState({ step: 'done', ...(await exportByLink(target, { format, bom }, name, total)), byBrowser: true })
        return
      }
      const r = await exportToFile(target, { format, bom }, name, total, onProgress, ctl.signal)
      setState(r ? { step: 'done', ...r } : { step: 'choose' })
    } catch (e) {
      setState(ctl.signal.aborted ? { step: 'cancelled' } : { step: 'failed', message: (e as Error).message })
    }
  }
  const running = state.step === 'running'
  const pct = running && state.progress.total > 0 ? Math.min(100, Math.round((state.progress.rows / state.progress.total) * 100)) : 0
  return (
    <dialog ref={ref} className="detail purge" aria-labelledby="export-title" onClose={onClose} onCancel={() => abort.current?.abort()}>
      <header>
        <h2 id="export-title">Export events</h2>
      </header>
      <p aria-live="polite">
        {total !== undefined ? (
          <>
            <strong data-testid="export-count">{formatCount(total)} events</strong> match the current filters.
          </>
        ) : preview.isError ? (
          <span className="error" role="alert">
            {preview.error.message}
          </span>
        ) : (
          'Counting the events that match…'
        )}
      </p>
      <fieldset className="export-options" disabled={running}>
        <legend>Format</legend>
        <label>
          <input type="radio" name="format" checked={format === 'csv'} onChange={() => setFormat('csv')} /> CSV
        </label>
        <label>
          <input type="radio" name="format" checked={format === 'ndjson'} onChange={() => setFormat('ndjson')} /> NDJSON
        </label>
        <label>
          <input type="checkbox" checked={bom} disabled={format !== 'csv'} onChange={(e) => setBom(e.target.checked)} /> Byte-order mark (for Excel)
        </label>
      </fieldset>
      {name && (
        <p className="muted small">
          File: <span className="mono" data-testid="export-name">{name}</span>
        </p>
      )}
      {running && (
        <p className="progress-line">
          <span className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="Export progress">
            <span style={{ width: `${pct}%` }} />
            <em>
              {formatCount(state.progress.rows)} / {formatCount(state.progress.total)}
            </em>
          </span>
        </p>
      )}
      <div aria-live="polite">
        {state.step === 'done' && (
          <p role="status">
            {state.byBrowser ? `Downloading ${formatCount(state.rows)} events to ${state.name}: your browser's downloads show its progress.` : `Saved ${formatCount(state.rows)} events to ${state.name}.`}
          </p>
        )}
        {state.step === 'cancelled' && <p role="status">Export cancelled.</p>}
        {state.step === 'failed' && (
          <p className="error" role="alert">
            Export failed: {state.message}
          </p>
        )}
      </div>
      <footer>
        {running ? (
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel export
          </button>
        ) : (
          <button type="button" onClick={() => ref.current?.close()}>
            Close
          </button>
        )}
        {!running && state.step !== 'done' && (
          <button type="button" className="primary" disabled={!total} onClick={() => void start()}>
            {canPickFile() ? 'Save to a file…' : 'Download'}
          </button>
        )}
      </footer>
    </dialog>
  )
}
