import { useEffect, useRef } from 'react'
import { useDeleteEvents } from '../api/delete-events.ts'
import { formatCount, formatLocal, formatTotal } from './format.ts'

interface Props {
  filters: Record<string, string | undefined>
  count: number
  exact: boolean
  onClose: () => void
}

/** Admin only: deletes what the filters match, after showing how many will go. */
export function PurgeDialog({ filters, count, exact, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null)
  const m = useDeleteEvents()
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal()
  }, [])
  const start = filters.start_date
  const end = filters.end_date ?? new Date().toISOString()
  return (
    <dialog ref={ref} className="detail purge" aria-labelledby="purge-title" onClose={onClose}>
      <header>
        <h2 id="purge-title">Delete events</h2>
      </header>
      {m.isSuccess ? (
        <p>Deleted {formatCount(m.data.deleted)} events.</p>
      ) : (
        <>
          <p>
            <strong>{formatTotal(count, exact)} events</strong> match the current filters from {start ? formatLocal(start) : 'the beginning'} to {formatLocal(end)}. Deleting them cannot be
            undone; the deletion itself is recorded.
          </p>
          {m.isError && <p className="error">{m.error.message}</p>}
        </>
      )}
      <footer>
        <button type="button" onClick={() => ref.current?.close()}>
          {m.isSuccess ? 'Close' : 'Cancel'}
        </button>
        {!m.isSuccess && (
          <button type="button" className="danger" disabled={m.isPending || count === 0 || !start} onClick={() => m.mutate({ ...filters, end_date: end })}>
            {m.isPending ? 'Deleting…' : exact ? `Delete ${formatCount(count)} events` : 'Delete all matching events'}
          </button>
        )}
      </footer>
    </dialog>
  )
}
