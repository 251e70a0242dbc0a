const ISO = /^(\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)$/i

/**
 * An ISO 8601 time (any offset, up to nanosecond digits; as Postgres or this
 * API prints it) as UTC with exactly six fraction digits, the form the trail
 * commits to. Null when the text is not such a time.
 *
 * @example
 * utcMicros('2026-11-23T10:00:00.1234+01:00') // '2026-11-23T09:00:00.123400Z'
 */
export function utcMicros(iso: string): string | null {
  const m = ISO.exec(iso.replace(' ', 'T'))
  const [, time, fraction = '', zone = ''] = m ?? []
  if (!m || !time) return null
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')
  const seconds = Date.parse(`${time}${offset}`)
  if (Number.isNaN(seconds)) return null
  return `${new Date(seconds).toISOString().slice(0, 19)}.${fraction.padEnd(6, '0').slice(0, 6)}Z`
}

/**
 * A stored time as the API shows it: ISO 8601 UTC with milliseconds, and
 * with microseconds when the database holds a non-zero sub-millisecond part
 * (rows whose timestamp came from `now()`), so that an export carries every
 * digit the trail commits to.
 */
export function apiTimestamp(ts: unknown): string {
  if (ts instanceof Date) return ts.toISOString()
  const micros = typeof ts === 'string' ? utcMicros(ts) : null
  if (!micros) return new Date(ts as string).toISOString()
  return micros.endsWith('000Z') ? `${micros.slice(0, 23)}Z` : micros
}
