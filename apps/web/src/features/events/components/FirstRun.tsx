import { useQuery } from '@tanstack/react-query'
import { getStats } from '../api/get-stats.ts'

/**
 * On an install that holds no event at all: how to send the first one, with
 * this server's address filled in. Asked only when the view is empty.
 */
export function FirstRun() {
  const all = useQuery({ queryKey: ['audit-events', 'stats', 'all-time'], queryFn: () => getStats({ bucket: 'day' }), staleTime: 60_000 })
  if (all.data?.total !== 0) return null
  const url = `${window.location.origin}/api/v1/audit/events`
  const body = { source: 'my-app', operation_type: 'user_login', result: 'success', operator: 'alice@example.com', message: 'First event' }
  const curl = `curl -X POST '${url}' \\\n  -H "Authorization: Bearer $AUDIT_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body)}'`
  const js = `await fetch('${url}', {\n  method: 'POST',\n  headers: { Authorization: \`Bearer \${process.env.AUDIT_KEY}\`, 'Content-Type': 'application/json' },\n  body: JSON.stringify(${JSON.stringify(body)}),\n})`
  return (
    <section className="first-run" aria-labelledby="first-run-title">
      <h2 id="first-run-title">No events yet: send the first one</h2>
      <p className="muted">With a key of role ingest or admin in AUDIT_KEY:</p>
      <pre className="snippet" tabIndex={0} aria-label="curl command" data-testid="first-run-curl">
        {curl}
      </pre>
      <p className="muted">or from JavaScript:</p>
      <pre className="snippet" tabIndex={0} aria-label="JavaScript snippet">
        {js}
      </pre>
    </section>
  )
}
