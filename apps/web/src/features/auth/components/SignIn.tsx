import { useState, type SubmitEvent } from 'react'
import { saveToken } from '../../../lib/auth.ts'

/** Shown on 401: asks for an API key with the read or admin role. */
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
        <p className="muted">Sign in with an API key that has the read or admin role. The server prints one on first start.</p>
        {rejected && <p className="error">That key was not accepted.</p>}
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
