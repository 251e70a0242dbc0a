import { useState } from 'react'
import { useExportEvents, type ExportProgress } from '../api/export-events.ts'
import { formatCount, formatTotal } from './format.ts'

/** CSV of every event that matches the filters (not only this page), with progress. */
export function ExportButton({ filters, total, exact }: { filters: Record<string, string | undefined>; total: number; exact: boolean }) {
  const [progress, setProgress] = useState<ExportProgress | null>(null)
  const m = useExportEvents(setProgress)
  const pct = progress && progress.total > 0 ? Math.min(100, Math.round((progress.rows / progress.total) * 100)) : 0
  return (
    <div className="export">
      <button type="button" onClick={() => m.mutate(filters)} disabled={m.isPending || total === 0}>
        {m.isPending ? 'Exporting…' : `Export CSV (${formatTotal(total, exact)})`}
      </button>
      {m.isPending && progress && (
        <span className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="Export progress">
          <span style={{ width: `${pct}%` }} />
          <em>
            {formatCount(progress.rows)} / {formatCount(progress.total)}
          </em>
        </span>
      )}
      {m.isSuccess && <span className="muted small">Saved {m.data.name}</span>}
      {m.isError && <span className="error small">Export failed: {m.error.message}</span>}
    </div>
  )
}
