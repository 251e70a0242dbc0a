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
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`; a date alone is midnight UTC; digits past
 * milliseconds are dropped).
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
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
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
  return { ok: true, iso: new Date(t).toISOString() }
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
