import { dbTimestamp } from '../schema/time.ts'

/**
 * A stored time (as Postgres prints it, or as the API shows it) as UTC with
 * exactly six fraction digits, the form the trail commits to. Null when the
 * text is not a time.
 *
 * @example
 * utcMicros('2026-11-23T10:00:00.1234+01:00') // '2026-11-23T09:00:00.123400Z'
 */
export function utcMicros(text: string): string | null {
  let iso: string
  try {
    iso = dbTimestamp(text)
  } catch {
    return null // an invalid time: new Date(…).toISOString() throws
  }
  return /\.\d{3}Z$/.test(iso) ? `${iso.slice(0, -1)}000Z` : iso
}
