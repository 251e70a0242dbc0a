/** Which clock the page shows times in; the other one is on hover. */
export type Zone = 'local' | 'utc'

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/**
 * A time as `YYYY-MM-DD HH:MM:SS` in the viewer's zone or UTC: the same
 * 19 characters in every locale, so the Time column has one width.
 *
 * @example formatTime('2026-11-23T06:05:49.000Z', 'utc') // '2026-11-23 06:05:49'
 */
export function formatTime(iso: string, zone: Zone): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return zone === 'utc'
    ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

const long = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
/** Time in the viewer's zone and locale, for prose (dialogs). */
export const formatLocal = (iso: string) => long.format(new Date(iso))
/** The exact UTC instant, for a tooltip. */
export const formatUtc = (iso: string) => `${iso.replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1')} UTC`.replace('Z UTC', ' UTC')

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
]
/** "3 minutes ago", in the viewer's language. */
export function formatRelative(iso: string, now = Date.now()): string {
  let v = (Date.parse(iso) - now) / 1000
  for (const [unit, size] of STEPS) {
    if (Math.abs(v) < size) return rtf.format(Math.round(v), unit)
    v /= size
  }
  return ''
}

/** What a time says on hover: how long ago, and the instant in the other clock. */
export const timeTitle = (iso: string, zone: Zone) => `${formatRelative(iso)} · ${zone === 'utc' ? `${formatTime(iso, 'local')} local` : formatUtc(iso)}`

export const formatCount = (n: number) => new Intl.NumberFormat().format(n)
/** A total from the API: past AUDIT_COUNT_CAP it is an estimate, shown with ≈. */
export const formatTotal = (n: number, exact: boolean) => (exact ? formatCount(n) : `≈ ${formatCount(n)}`)
export const ESTIMATE_TITLE = 'Estimated: too many events match to count them exactly on every refresh'

export function formatDuration(extra: Record<string, unknown> | null): string {
  const ms = extra?.duration_ms
  if (typeof ms !== 'number') return ''
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`
}

/** A value for <input type="datetime-local"> from an ISO instant, in local time. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}
