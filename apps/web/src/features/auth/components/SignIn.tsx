import { useState, type SubmitEvent } from 'react'
import { saveToken } from '../../../lib/auth.ts'

/** Asks for an API key with the read or admin role; `rejected`: the last key tried got 401. */
export function SignIn({ onSignedIn, rejected }: { onSignedIn: () => void; rejected: boolean }) {
  const [key, setKey] = useState('')
  const submit = (e: SubmitEvent) => {
    e.preventDefault()
    if (!key.trim()) return
    saveToken(key)
    onSignedIn()
  }
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Audit events</h1>
        <p className="muted">
          Sign in with an API key that has the read or admin role: one of AUDIT_API_KEYS, or, on a server started without them, the admin key in the file{' '}
          <code>admin-api-key</code> of its data directory (<code>AUDIT_DATA_DIR</code>, default <code>./.data/admin-api-key</code>), which it also prints as a link on
          start.
        </p>
        <div role="alert">{rejected && <p className="error">That key was not accepted.</p>}</div>
        <label>
          API key
          <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} autoFocus />
        </label>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  )
}
