import { useCallback, useState } from 'react'
import type { Zone } from '../components/format.ts'

/** Choices about how the page looks (not what it shows): kept in localStorage, not in the URL. */
export interface Prefs {
  zone: Zone
  /** Columns of the table the viewer has hidden. */
  hidden: string[]
  /** Widths in px of the columns the viewer has resized; the others keep the stylesheet's. */
  widths: Record<string, number>
}

const KEY = 'audit-events.prefs'
const DEFAULTS: Prefs = { zone: 'local', hidden: [], widths: {} }

function load(): Prefs {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Prefs>
    const raw: unknown = p.widths
    const widths = typeof raw === 'object' && raw !== null ? Object.entries(raw as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]) && e[1] > 0) : []
    return {
      zone: p.zone === 'utc' ? 'utc' : 'local',
      hidden: Array.isArray(p.hidden) ? p.hidden.filter((h) => typeof h === 'string') : [],
      widths: Object.fromEntries(widths),
    }
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
