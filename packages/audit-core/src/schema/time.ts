/**
 * The one rule for times, on ingest and in filters: ISO 8601 text naming a
 * real calendar date, in years 0001 to 9999 once its offset is applied (what
 * Postgres's timestamptz and JavaScript's ISO text both hold). `Date.parse`
 * alone is not enough: it reads 2024-02-30 as March 1.
 */
import { TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS } from './columns.ts'

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/

/** What {@link parseTimestamp} answers: the canonical UTC text, or why not. */
export type ParsedTimestamp = { ok: true; iso: string } | { ok: false; reason: 'format' | 'calendar' | 'range'; message: string }

export interface TimestampRule {
  /** Require a time of day with seconds and a zone (`Z` or an offset), as ingest does; else a bare date or a zone-less time (UTC) is read too. */
  strict?: boolean
}

const FORMAT = {
  strict: 'Invalid ISO datetime: expected YYYY-MM-DDTHH:MM:SS[.fff] with Z or an offset such as +02:00',
  loose: 'Input should be a valid ISO 8601 date or datetime (YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.fff]] with an optional Z or offset)',
}
const RANGE = 'Input should be a time in the years 0001 to 9999 once its offset is applied (UTC)'

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/**
 * Parses an ISO 8601 date or date-time to canonical UTC text
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`, or `.ssssssZ` when it has microseconds, as
 * timestamptz keeps them; a date alone is midnight UTC; digits past
 * microseconds are dropped).
 *
 * @example
 * parseTimestamp('2026-11-13T02:00:00+02:00') // { ok: true, iso: '2026-11-13T00:00:00.000Z' }
 * parseTimestamp('2024-02-30')                // { ok: false, reason: 'calendar', … }
 */
export function parseTimestamp(text: string, rule: TimestampRule = {}): ParsedTimestamp {
  const m = ISO.exec(text)
  if (!m || (rule.strict && (m[6] === undefined || m[8] === undefined || text[10] === ' '))) {
    return { ok: false, reason: 'format', message: rule.strict ? FORMAT.strict : FORMAT.loose }
  }
  const num = (i: number) => Number(m[i] ?? 0)
  const [year, month, day, hour, minute, second] = [num(1), num(2), num(3), num(4), num(5), num(6)] as const
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'calendar', message: `${m[0].slice(0, 19)} is not a real date and time` }
  }
  // microseconds, as timestamptz keeps them; digits past them are dropped
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6)
  const ms = Number(frac.slice(0, 3))
  let offsetMin = 0
  const zone = m[8]
  if (zone && zone !== 'Z' && zone !== 'z') {
    const h = Number(zone.slice(1, 3))
    const mm = Number(zone.slice(-2))
    if (h > 23 || mm > 59) return { ok: false, reason: 'calendar', message: `${zone} is not a UTC offset` }
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (h * 60 + mm)
  }
  // setUTCFullYear, unlike Date.UTC, leaves years 0-99 alone
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, ms)
  const t = d.getTime() - offsetMin * 60_000
  if (!(t >= TIMESTAMP_MIN_MS && t <= TIMESTAMP_MAX_MS)) return { ok: false, reason: 'range', message: RANGE }
  return { ok: true, iso: withMicros(new Date(t).toISOString(), frac.slice(3)) }
}

/** ISO text with its sub-millisecond digits: `.sssZ` when they are 000, `.ssssssZ` otherwise. */
function withMicros(iso: string, micros: string): string {
  return micros === '000' || micros === '' ? iso : `${iso.slice(0, -1)}${micros}Z`
}

const DB_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?$/

/**
 * A timestamptz as Postgres writes it in JSON or text (`to_json`, PostgREST:
 * the session's zone, an offset that may have seconds, up to six fraction
 * digits) in the API's form: UTC, `Z`, milliseconds, and the microseconds
 * when there are any. A Date (millisecond precision) is taken as it is.
 *
 * @example
 * dbTimestamp('2026-11-20T13:00:00.123456+01:00') // '2026-11-20T12:00:00.123456Z'
 */
export function dbTimestamp(v: string | Date): string {
  if (v instanceof Date) return v.toISOString()
  const m = DB_TIME.exec(v)
  if (!m) return new Date(v).toISOString()
  const n = (i: number) => Number(m[i] ?? 0)
  const frac = (m[7] ?? '').padEnd(6, '0')
  const d = new Date(0)
  d.setUTCFullYear(n(1), n(2) - 1, n(3))
  d.setUTCHours(n(4), n(5), n(6), Number(frac.slice(0, 3)))
  const offsetS = (m[8] === '-' ? -1 : 1) * (n(9) * 3600 + n(10) * 60 + n(11))
  return withMicros(new Date(d.getTime() - offsetS * 1000).toISOString(), frac.slice(3))
}

/**
 * An event's time as the library is given it (a Date, epoch milliseconds or
 * ISO text) in canonical UTC text, or undefined when it breaks the rule (the
 * schema then says why).
 */
export function eventTimestamp(ts: Date | number | string): string | undefined {
  if (typeof ts === 'string') {
    const p = parseTimestamp(ts, { strict: true })
    return p.ok ? p.iso : undefined
  }
  const t = typeof ts === 'number' ? ts : ts instanceof Date ? ts.getTime() : Number.NaN
  return t >= TIMESTAMP_MIN_MS && t <= TIMESTAMP_MAX_MS ? new Date(t).toISOString() : undefined
}
