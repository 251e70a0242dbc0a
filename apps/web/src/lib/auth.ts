const STORAGE_KEY = 'audit-events.api-key'
const CHANNEL = 'audit-events.api-key'

/**
 * The API key: taken from the URL fragment (`#token=…`, as the server prints
 * it) into sessionStorage, and the fragment removed so the key is never in a
 * URL that is sent, bookmarked or shared.
 */
export function readToken(): string | null {
  const m = /(?:^|&)token=([^&]+)/.exec(window.location.hash.slice(1))
  if (m?.[1]) {
    sessionStorage.setItem(STORAGE_KEY, decodeURIComponent(m[1]))
    history.replaceState(history.state, '', window.location.pathname + window.location.search)
  }
  return sessionStorage.getItem(STORAGE_KEY)
}

export function saveToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token.trim())
}

/** Forgets the key in this tab and in every other tab of the page. */
export function clearToken(): void {
  sessionStorage.removeItem(STORAGE_KEY)
  channel()?.postMessage({ type: 'signed-out' })
}

type Message = { type: 'need-key' } | { type: 'key'; key: string } | { type: 'signed-out' }

let bc: BroadcastChannel | null | undefined
const channel = () => (bc === undefined ? (bc = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null) : bc)

/**
 * Keeps the key for the browser session across tabs: sessionStorage is one
 * tab's, so a tab opened without a key asks the page's other tabs (a
 * BroadcastChannel reaches only this origin's pages) and one that holds a key
 * answers. Signing out in one tab signs out all of them (`onSignedOut`).
 */
export function shareTokenAcrossTabs(onSignedOut: () => void): () => void {
  const ch = channel()
  if (!ch) return () => {}
  const listen = (ev: MessageEvent<Message>) => {
    const key = sessionStorage.getItem(STORAGE_KEY)
    if (ev.data.type === 'need-key' && key) ch.postMessage({ type: 'key', key } satisfies Message)
    if (ev.data.type === 'signed-out' && key) {
      sessionStorage.removeItem(STORAGE_KEY)
      onSignedOut()
    }
  }
  ch.addEventListener('message', listen)
  return () => ch.removeEventListener('message', listen)
}

/** Asks the other tabs for the key; null when none answers within `ms`. */
export function askOtherTabs(ms = 400): Promise<string | null> {
  const ch = channel()
  if (!ch) return Promise.resolve(null)
  return new Promise((resolve) => {
    const done = (key: string | null) => {
      clearTimeout(timer)
      ch.removeEventListener('message', listen)
      if (key) saveToken(key)
      resolve(key)
    }
    const listen = (ev: MessageEvent<Message>) => {
      if (ev.data.type === 'key') done(ev.data.key)
    }
    const timer = setTimeout(() => done(null), ms)
    ch.addEventListener('message', listen)
    ch.postMessage({ type: 'need-key' } satisfies Message)
  })
}
