import { useCallback, useEffect, useState } from 'react'
import { readView, writeView, type ViewState } from '../filters.ts'

/** The view, kept in the URL: changes push history entries; back/forward restore them. */
export function useView() {
  const [view, setView] = useState<ViewState>(() => readView(window.location.search))
  useEffect(() => {
    const onPop = () => setView(readView(window.location.search))
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  const update = useCallback((patch: Partial<ViewState>, opts: { replace?: boolean } = {}) => {
    setView((prev) => {
      // a patched key set to undefined or '' leaves the view
      const merged: ViewState = { ...prev, ...patch }
      const next = Object.fromEntries(Object.entries(merged).filter(([k, v]) => !(k in patch && (v === undefined || v === '')))) as ViewState
      const url = `${window.location.pathname}${writeView(next)}`
      if (url !== `${window.location.pathname}${window.location.search}`) {
        if (opts.replace) history.replaceState(null, '', url)
        else history.pushState(null, '', url)
      }
      return next
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
