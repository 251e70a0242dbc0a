import { useCallback, useEffect, useRef, useState } from 'react'
import { readView, writeView, type ViewState } from '../filters.ts'

/**
 * The view, kept in the URL: changes push history entries; back/forward restore them.
 *
 * The URL is written after the new view is committed, never before: whoever
 * sees the new URL (a reload, a copied link, a test) sees the page already
 * rendering for it, with its previous rows marked stale until the new ones
 * arrive.
 */
export function useView() {
  const [view, setView] = useState<ViewState>(() => readView(window.location.search))
  // one pending history write for the changes committed together: a push unless every change asked to replace
  const pending = useRef<'push' | 'replace' | null>(null)
  useEffect(() => {
    const onPop = () => setView(readView(window.location.search))
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  useEffect(() => {
    const mode = pending.current
    pending.current = null
    const url = `${window.location.pathname}${writeView(view)}`
    if (mode === null || url === `${window.location.pathname}${window.location.search}`) return
    if (mode === 'replace') history.replaceState(null, '', url)
    else history.pushState(null, '', url)
  }, [view])
  const update = useCallback((patch: Partial<ViewState>, opts: { replace?: boolean } = {}) => {
    pending.current = opts.replace && pending.current !== 'push' ? 'replace' : 'push'
    setView((prev) => {
      // a patched key set to undefined or '' leaves the view
      const merged: ViewState = { ...prev, ...patch }
      return Object.fromEntries(Object.entries(merged).filter(([k, v]) => !(k in patch && (v === undefined || v === '')))) as ViewState
    })
  }, [])
  return [view, update] as const
}

/** A value that follows `value` after `ms` without changes. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value)
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms)
    return () => clearTimeout(t)
  }, [value, ms])
  return v
}
