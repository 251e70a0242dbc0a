import type { LiveStatus } from '../api/stream-events.ts'
import { formatCount } from './format.ts'

const SAYS: Record<LiveStatus, string> = { off: '', connecting: 'connecting…', live: 'live', paused: 'paused', error: 'reconnecting…' }

/** The Live switch, pause/resume, and what the tail is doing. */
export function LiveControls({
  on,
  paused,
  status,
  shown,
  dropped,
  onToggle,
  onPause,
}: {
  on: boolean
  paused: boolean
  status: LiveStatus
  shown: number
  dropped: number
  onToggle: (on: boolean) => void
  onPause: (paused: boolean) => void
}) {
  return (
    <span className="live-controls">
      <button type="button" aria-pressed={on} className={on ? 'live-on' : undefined} onClick={() => onToggle(!on)} title="New events appear at the top as they are recorded">
        Live
      </button>
      {on && (
        <>
          <button type="button" onClick={() => onPause(!paused)}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <span className="muted small" role="status" data-testid="live-status">
            {SAYS[status]}
            {shown > 0 && ` · ${formatCount(shown)} new`}
            {dropped > 0 && ` · ${formatCount(dropped)} not shown (rate cap)`}
          </span>
        </>
      )}
    </span>
  )
}
