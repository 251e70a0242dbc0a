import { useCallback, useState } from 'react'
import type { Zone } from '../components/format.ts'

/** Choices about how the page looks (not what it shows): kept in localStorage, not in the URL. */
export interface Prefs {
  zone: Zone
  /** Columns of the table the viewer has hidden. */
  hidden: string[]
}

const KEY = 'audit-events.prefs'
const DEFAULTS: Prefs = { zone: 'local', hidden: [] }

function load(): Prefs {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>
    return { zone: p.zone === 'utc' ? 'utc' : 'local', hidden: Array.isArray(p.hidden) ? p.hidden.filter((h) => typeof h === 'string') : [] }
  } catch {
    return DEFAULTS
  }
}

export function usePrefs() {
  const [prefs, setPrefs] = useState(load)
  const update = useCallback((patch: Partial<Prefs>) => {
    setPrefs((prev) => {
      const next = { ...prev, ...patch }
      try {
        localStorage.setItem(KEY, JSON.stringify(next))
      } catch {
        /* storage full or disabled: the choice lasts for this page */
      }
      return next
    })
  }, [])
  return [prefs, update] as const
}
