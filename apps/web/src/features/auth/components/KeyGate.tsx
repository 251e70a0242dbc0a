import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useState, type ReactNode } from 'react'
import { askOtherTabs, readToken, shareTokenAcrossTabs } from '../../../lib/auth.ts'
import { SignIn } from './SignIn.tsx'

type Gate = { state: 'asking' } | { state: 'signed-in' } | { state: 'signed-out'; rejected: boolean }

/**
 * Shows the page only with a key: from this tab, or from another tab of the
 * page. Without one it asks for it and calls the API not at all, so a visitor
 * who has not tried a key leaves no `auth_failed` events behind.
 */
export function KeyGate({ children }: { children: (signOut: (rejected: boolean) => void) => ReactNode }) {
  const qc = useQueryClient()
  const [gate, setGate] = useState<Gate>(() => (readToken() ? { state: 'signed-in' } : { state: 'asking' }))
  useEffect(() => shareTokenAcrossTabs(() => setGate({ state: 'signed-out', rejected: false })), [])
  useEffect(() => {
    if (gate.state !== 'asking') return
    let live = true
    void askOtherTabs().then((key) => live && setGate(key ? { state: 'signed-in' } : { state: 'signed-out', rejected: false }))
    return () => {
      live = false
    }
  }, [gate.state])
  if (gate.state === 'asking') return null
  if (gate.state === 'signed-out') {
    return (
      <SignIn
        rejected={gate.rejected}
        onSignedIn={() => {
          qc.clear()
          setGate({ state: 'signed-in' })
        }}
      />
    )
  }
  return children((rejected) => {
    qc.clear()
    setGate({ state: 'signed-out', rejected })
  })
}
