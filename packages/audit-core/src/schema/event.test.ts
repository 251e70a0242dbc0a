import { describe, expect, it } from 'vitest'
import { mulberry32 } from '@audit/core/testing'
import {
  ACTOR_TYPES,
  EXTRA_INFO_MAX_BYTES,
  EXTRA_INFO_MAX_DEPTH,
  EventInputSchema,
  LIMITS,
  MESSAGE_MAX_CHARS,
  SEVERITIES,
  acceptsAsIs,
  eventTimestamp,
  isIpAddress,
  parseTimestamp,
} from './event.ts'

/** `{a: {a: … {}}}`, `depth` objects deep (the value itself is depth 1), built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {}
  for (let i = 1; i < depth; i++) v = { a: v }
  return v
}
const cyclic: Record<string, unknown> = { a: 1 }
cyclic.self = cyclic
const EMOJI = '\u{1F600}' // one character, two UTF-16 units

const text = (max: number) => [
  null,
  undefined,
  '',
  'plain',
  'x'.repeat(max),
  'x'.repeat(max + 1),
  EMOJI.repeat(max), // max characters as Postgres counts them, 2 × max UTF-16 units
  EMOJI.repeat(max) + 'x',
  'has\u0000nul',
  'lone \ud800 high',
  'lone \udc00 low',
  'reversed \udc00\ud800 pair',
  7,
  { a: 1 },
]
const pools: Record<string, unknown[]> = {
  source: ['api-service', 'a.b:c-d_e', 'Bad Source', '', 'x'.repeat(50), 'x'.repeat(51), 'src\ud800', 5, null, undefined],
  operation_type: ['stock_price_download', 'Mixed.Case:op-1', 'has space', '', 'x'.repeat(100), 'x'.repeat(101), 'op\u0000', null],
  result: ['success', 'failure', 'warning', 'ok', undefined, null],
  severity: [...SEVERITIES, 'fatal', undefined, null],
  actor_type: [...ACTOR_TYPES, 'creator', 'a_b', 'x'.repeat(20), 'x'.repeat(21), 'Robot', 'has-dash', '', null, undefined],
  operator: text(LIMITS.operator),
  message: text(MESSAGE_MAX_CHARS),
  tenant_id: text(LIMITS.tenant_id),
  resource_type: text(LIMITS.resource_type),
  resource_id: text(LIMITS.resource_id),
  request_id: text(LIMITS.request_id),
  user_agent: text(LIMITS.user_agent),
  ip_address: [null, null, '203.0.113.9', '2001:db8::1', '::ffff:10.0.0.1', 'not an ip', 'fe80::1%eth0', '10.0.0.1, 198.51.100.7', ''],
  extra_info: [
    null,
    undefined,
    {},
    { symbol: 'AAPL', records_count: 100, nested: { a: [1, 2, null] } },
    { fits: 'é'.repeat(EXTRA_INFO_MAX_BYTES / 6) },
    { near: 'x'.repeat(EXTRA_INFO_MAX_BYTES / 3) },
    { over: 'x'.repeat(EXTRA_INFO_MAX_BYTES) },
    { nul: 'a\u0000b' },
    { 'k\u0000': 1 },
    { 'k\u0000': 1, k: 2 }, // NUL removal would merge the two keys
    { lone: '\ud800' },
    { '\udfff': 'key' },
    { deep: { deeper: ['\ud83d'] } },
    { pair: EMOJI, text: 'backslash-u is just text: \\ud800 \\u0000' },
    { control: '\u0001\u001f' },
    nested(EXTRA_INFO_MAX_DEPTH),
    nested(EXTRA_INFO_MAX_DEPTH + 1),
    nested(5000),
    { many: Array.from({ length: 40 }, (_, i) => ({ i })) }, // 41 brackets, 3 levels
    cyclic,
    { big: 1n },
    [1, 2],
    'text',
    new Date(0),
    Object.create(null) as object,
    { [Symbol('s')]: 1, a: 1 },
  ],
  id: [undefined, undefined, '0190a0b0-0000-7000-8000-000000000001', 'not-a-uuid'],
  timestamp: [
    undefined,
    undefined,
    '2026-11-20T12:00:00.000Z',
    '2026-11-20T14:00:00+02:00',
    'yesterday',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '0000-01-01T00:30:00+01:00',
    '0001-01-01T00:30:00+01:00',
    '9999-12-31T23:59:59-23:59',
    '2024-02-30T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
  ],
}

describe('acceptsAsIs: the logger’s fast check, held to the schema', () => {
  it('accepts only events the schema accepts, and then exactly as the schema returns them', () => {
    const rnd = mulberry32(99)
    const pick = (xs: unknown[]) => xs[Math.floor(rnd() * xs.length)]
    const base = { source: 'api-service', operation_type: 'scan_process', result: 'success', severity: 'info' }
    let accepted = 0
    let deferred = 0
    for (let i = 0; i < 6000; i++) {
      let e: Record<string, unknown> = { ...base }
      // mostly valid events with one to three fields drawn from the pools (valid and not)
      const n = 1 + Math.floor(rnd() * 3)
      for (let k = 0; k < n; k++) {
        const key = pick(Object.keys(pools)) as string
        e[key] = pick(pools[key] as unknown[])
      }
      if (rnd() < 0.02) e.colour = 'red' // an unknown field
      e = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined))
      // the schema answers every value, hostile ones included, and never throws
      const parsed = EventInputSchema.safeParse(e)
      if (acceptsAsIs(e)) {
        accepted++
        expect(parsed.success, Object.keys(e).join()).toBe(true)
        expect(parsed.data).toStrictEqual(e)
      } else {
        deferred++
      }
    }
    // both branches were exercised, the fast one for most valid events
    expect(accepted).toBeGreaterThan(1000)
    expect(deferred).toBeGreaterThan(1000)
  })
})

const ok = { source: 'api-service', operation_type: 'scan_process', result: 'success' }
/** The schema's answer for one field: the stored value, or the first issue's message. */
function field(key: string, value: unknown): { value: unknown } | { error: string } {
  const r = EventInputSchema.safeParse({ ...ok, [key]: value })
  return r.success ? { value: (r.data as Record<string, unknown>)[key] } : { error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }
}

describe('EventInputSchema refuses what the database would refuse or change', () => {
  it.each([
    ['a lone surrogate in a text column', 'message', 'a\ud800b', /message is not valid Unicode/],
    ['a lone surrogate in an extra_info value', 'extra_info', { a: '\ud800' }, /extra_info is not valid Unicode/],
    ['a lone surrogate in an extra_info key, deep down', 'extra_info', { a: [{ ['\udc00']: 1 }] }, /extra_info is not valid Unicode/],
    ['extra_info nested past the limit', 'extra_info', nested(EXTRA_INFO_MAX_DEPTH + 1), new RegExp(`nested deeper than ${EXTRA_INFO_MAX_DEPTH} levels`)],
    ['extra_info nested 100,000 levels (no stack overflow)', 'extra_info', nested(100_000), /nested deeper/],
    ['extra_info that refers to itself', 'extra_info', cyclic, /nested deeper/],
    ['extra_info JSON cannot hold', 'extra_info', { n: 1n }, /cannot be written as JSON/],
    ['keys that differ only by NUL', 'extra_info', { 'k\u0000': 1, k: 2 }, /differ only by NUL/],
    ['year 0 through an offset', 'timestamp', '0000-01-01T00:30:00+01:00', /years 0001 to 9999/],
    ['year 10000 through an offset', 'timestamp', '9999-12-31T23:59:59-23:59', /years 0001 to 9999/],
    ['an impossible calendar date', 'timestamp', '2024-02-30T00:00:00Z', /not a real date/],
    ['an address with a zone index', 'ip_address', 'fe80::1%eth0', /IPv4 or IPv6/],
    ['a list of addresses', 'ip_address', '10.0.0.1, 198.51.100.7', /IPv4 or IPv6/],
  ])('%s', (_label, key, value, message) => {
    const r = field(key, value)
    expect(r).toHaveProperty('error')
    expect((r as { error: string }).error).toMatch(message)
  })

  it.each([
    ['the first instant of year 1', 'timestamp', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['the last millisecond of 9999', 'timestamp', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['an offset applied', 'timestamp', '0001-01-01T00:30:00-01:00', '0001-01-01T01:30:00.000Z'],
    ['a leap day', 'timestamp', '2024-02-29T12:00:00+00:00', '2024-02-29T12:00:00.000Z'],
    ['255 characters that are 510 UTF-16 units', 'operator', EMOJI.repeat(255), EMOJI.repeat(255)],
    ['extra_info exactly at the depth limit', 'extra_info', nested(EXTRA_INFO_MAX_DEPTH), nested(EXTRA_INFO_MAX_DEPTH)],
    ['a surrogate pair and text that only looks like an escape', 'extra_info', { e: EMOJI, t: '\\ud800' }, { e: EMOJI, t: '\\ud800' }],
    ['NUL removed from text (kept behaviour)', 'message', 'a\u0000b', 'ab'],
    ['NUL removed from extra_info keys and values', 'extra_info', { 'k\u0000': 'x\u0000y' }, { k: 'xy' }],
    ['an IPv4-mapped IPv6 address', 'ip_address', '::ffff:10.0.0.1', '::ffff:10.0.0.1'],
  ])('accepts %s', (_label, key, value, stored) => {
    expect(field(key, value)).toEqual({ value: stored })
  })
})

describe('parseTimestamp: one rule for ingest and filters', () => {
  it.each([
    ['2026-11-13', '2026-11-13T00:00:00.000Z'],
    ['2026-11-13T02:00:00+02:00', '2026-11-13T00:00:00.000Z'],
    ['2026-11-13T02:00:00+0200', '2026-11-13T00:00:00.000Z'],
    ['2026-11-13 02:00', '2026-11-13T02:00:00.000Z'],
    ['2026-11-13T02:00:00.123456789Z', '2026-11-13T02:00:00.123456Z'],
    ['2026-11-13T02:00:00.123000Z', '2026-11-13T02:00:00.123Z'],
    ['2026-11-13T02:00:00.000001+01:00', '2026-11-13T01:00:00.000001Z'],
    ['0001-01-01', '0001-01-01T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseTimestamp(text)).toEqual({ ok: true, iso })
  })

  it.each([
    ['2024-02-30', 'calendar'],
    ['2023-02-29', 'calendar'],
    ['2026-04-31T00:00:00Z', 'calendar'],
    ['2026-01-01T24:00:00Z', 'calendar'],
    ['2026-01-01T00:00:00+24:00', 'calendar'],
    ['0000-01-01', 'range'],
    ['0000-01-01T00:30:00+01:00', 'range'],
    ['9999-12-31T23:59:59-23:59', 'range'],
    ['+010000-01-01T00:00:00Z', 'format'],
    ['yesterday', 'format'],
  ])('refuses %s (%s)', (text, reason) => {
    expect(parseTimestamp(text)).toMatchObject({ ok: false, reason })
  })

  it('ingest (strict) wants seconds and a zone', () => {
    expect(parseTimestamp('2026-11-13', { strict: true })).toMatchObject({ ok: false, reason: 'format' })
    expect(parseTimestamp('2026-11-13T02:00:00', { strict: true })).toMatchObject({ ok: false, reason: 'format' })
    expect(parseTimestamp('2026-11-13T02:00:00Z', { strict: true })).toEqual({ ok: true, iso: '2026-11-13T02:00:00.000Z' })
  })

  it('eventTimestamp applies the same range to Dates and epoch numbers', () => {
    expect(eventTimestamp(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01T00:00:00.000Z')
    expect(eventTimestamp(Date.parse('0000-12-31T23:59:59.999Z'))).toBeUndefined()
    expect(eventTimestamp(Date.parse('+010000-01-01T00:00:00Z'))).toBeUndefined()
    expect(eventTimestamp('2024-02-30T00:00:00Z')).toBeUndefined()
    expect(eventTimestamp('2026-11-20T11:11:12.345+01:00')).toBe('2026-11-20T10:11:12.345Z')
  })
})

describe('isIpAddress', () => {
  it('takes what net.isIP takes, except a zone index', () => {
    expect(['203.0.113.9', '::1', '2001:db8::1', '::ffff:10.0.0.1'].every(isIpAddress)).toBe(true)
    expect(['', 'not-an-ip', '999.1.1.1', 'fe80::1%eth0', '10.0.0.1:80', ' 10.0.0.1'].some(isIpAddress)).toBe(false)
  })
})
