const local = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** Time in the viewer's zone. */
export const formatLocal = (iso: string) => local.format(new Date(iso))
/** The exact UTC instant, for a tooltip. */
export const formatUtc = (iso: string) => `${iso.replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1')} UTC`.replace('Z UTC', ' UTC')
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
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}
