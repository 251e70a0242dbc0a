const STORAGE_KEY = 'audit-events.api-key'

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

export function clearToken(): void {
  sessionStorage.removeItem(STORAGE_KEY)
}
