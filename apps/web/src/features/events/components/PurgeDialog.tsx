import { useEffect, useRef, useState } from 'react'
import { useExactCount } from '../api/count-events.ts'
import { useDeleteEvents } from '../api/delete-events.ts'
import { formatCount, formatLocal } from './format.ts'

interface Props {
  filters: Record<string, string | undefined>
  onClose: () => void
}

/** Admin only: deletes what the filters match, after counting exactly how many will go. */
export function PurgeDialog({ filters, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null)
  const m = useDeleteEvents()
  // the range ends when the dialog opens: what was counted is what is deleted
  const [opened] = useState(() => Date.now())
  const [target] = useState<Record<string, string | undefined> & { end_date: string }>(() => ({ ...filters, end_date: filters.end_date ?? new Date(opened).toISOString() }))
  const count = useExactCount(target, opened)
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal()
  }, [])
  const start = target.start_date
  const n = count.data
  return (
    <dialog ref={ref} className="detail purge" aria-labelledby="purge-title" onClose={onClose}>
      <header>
        <h2 id="purge-title">Delete events</h2>
      </header>
      {m.isSuccess ? (
        <p role="status">Deleted {formatCount(m.data.deleted)} events.</p>
      ) : (
        <>
          <p aria-live="polite">
            {n === undefined ? (
              count.isError ? <span className="error" role="alert">Could not count the events: {count.error.message}</span> : 'Counting the events that match…'
            ) : (
              <>
                <strong data-testid="purge-count">{formatCount(n)} events</strong> match the current filters from {start ? formatLocal(start) : 'the beginning'} to {formatLocal(target.end_date)}.
                Deleting them cannot be undone; the deletion itself is recorded.
              </>
            )}
          </p>
          {m.isError && (
            <p className="error" role="alert">
              {m.error.message}
            </p>
          )}
        </>
      )}
      <footer>
        <button type="button" onClick={() => ref.current?.close()}>
          {m.isSuccess ? 'Close' : 'Cancel'}
        </button>
        {!m.isSuccess && (
          <button type="button" className="danger" disabled={m.isPending || !n || !start} onClick={() => m.mutate(target)}>
            {m.isPending ? 'Deleting…' : `Delete ${n === undefined ? '' : `${formatCount(n)} `}events`}
          </button>
        )}
      </footer>
    </dialog>
  )
}
