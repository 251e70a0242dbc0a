import { useMe } from '../../events/api/get-me.ts'
import { useVerify } from '../api/get-verify.ts'

/** The trail's status for admins: intact or the first break, with the last verified checkpoint. */
export function TrailStatus() {
  const me = useMe()
  const admin = me.data?.role === 'admin'
  const verify = useVerify(admin)
  if (!admin) return null
  if (verify.isPending) return <span className="muted small" data-testid="trail-status">Trail: checking…</span>
  if (verify.isError) return <span className="muted small" data-testid="trail-status">Trail: could not be checked</span>
  const r = verify.data
  const signed = r.last_signed
  const title = r.problems.map((p) => p.message).join('\n') || `${r.events} events in ${r.checkpoints} checkpoints`
  return (
    <span className={`small ${r.intact ? 'muted' : 'error'}`} data-testid="trail-status" title={title}>
      {r.intact ? 'Trail intact' : `Trail broken at checkpoint ${r.problems[0]?.seq ?? '?'}`}
      {signed ? ` · signed #${signed.seq}${signed.verified ? ' ✓' : ''}` : r.last_checkpoint ? ` · checkpoint #${r.last_checkpoint.seq} (unsigned)` : ''}
    </span>
  )
}
