import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../testing/seed.ts'
import { ACTOR_TYPES, EXTRA_INFO_MAX_BYTES, EventInputSchema, LIMITS, MESSAGE_MAX_CHARS, SEVERITIES, acceptsAsIs } from './event.ts'

const text = (max: number) => [null, undefined, '', 'plain', 'x'.repeat(max), 'x'.repeat(max + 1), 'has\u0000nul', 7, { a: 1 }]
const pools: Record<string, unknown[]> = {
  source: ['api-service', 'a.b:c-d_e', 'Bad Source', '', 'x'.repeat(50), 'x'.repeat(51), 5, null, undefined],
  operation_type: ['stock_price_download', 'Mixed.Case:op-1', 'has space', '', 'x'.repeat(100), 'x'.repeat(101), null],
  result: ['success', 'failure', 'warning', 'ok', undefined, null],
  severity: [...SEVERITIES, 'fatal', undefined, null],
  actor_type: [...ACTOR_TYPES, 'robot', null, undefined],
  operator: text(LIMITS.operator),
  message: text(MESSAGE_MAX_CHARS),
  tenant_id: text(LIMITS.tenant_id),
  resource_type: text(LIMITS.resource_type),
  resource_id: text(LIMITS.resource_id),
  request_id: text(LIMITS.request_id),
  user_agent: text(LIMITS.user_agent),
  ip_address: [null, null, null, '203.0.113.9', 'not an ip'],
  extra_info: [
    null,
    undefined,
    {},
    { symbol: 'AAPL', records_count: 100, nested: { a: [1, 2, null] } },
    { fits: 'é'.repeat(EXTRA_INFO_MAX_BYTES / 6) },
    { near: 'x'.repeat(EXTRA_INFO_MAX_BYTES / 3) },
    { over: 'x'.repeat(EXTRA_INFO_MAX_BYTES) },
    { nul: 'a\u0000b' },
    { big: 1n },
    [1, 2],
    'text',
    new Date(0),
    Object.create(null) as object,
    { [Symbol('s')]: 1, a: 1 },
  ],
  id: [undefined, undefined, '0190a0b0-0000-7000-8000-000000000001', 'not-a-uuid'],
  timestamp: [undefined, undefined, '2026-11-20T12:00:00.000Z', 'yesterday'],
}

describe('acceptsAsIs: the logger’s fast check, held to the schema', () => {
  it('accepts only events the schema accepts, and then exactly as the schema returns them', () => {
    const rnd = mulberry32(99)
    const pick = (xs: unknown[]) => xs[Math.floor(rnd() * xs.length)]
    const base = { source: 'api-service', operation_type: 'scan_process', result: 'success', severity: 'info' }
    let accepted = 0
    let deferred = 0
    for (let i = 0; i < 4000; i++) {
      const e: Record<string, unknown> = { ...base }
      // mostly valid events with one to three fields drawn from the pools (valid and not)
      const n = 1 + Math.floor(rnd() * 3)
      for (let k = 0; k < n; k++) {
        const key = pick(Object.keys(pools)) as string
        e[key] = pick(pools[key] as unknown[])
      }
      for (const key of Object.keys(e)) if (e[key] === undefined) delete e[key]
      let parsed: ReturnType<typeof EventInputSchema.safeParse> | undefined
      try {
        parsed = EventInputSchema.safeParse(e)
      } catch {
        parsed = undefined // a value JSON cannot hold (BigInt) throws from the size check: the logger rejects it
      }
      if (acceptsAsIs(e)) {
        accepted++
        expect(parsed?.success, Object.keys(e).join()).toBe(true)
        expect(parsed?.data).toStrictEqual(e)
      } else {
        deferred++
      }
    }
    // both branches were exercised, the fast one for most valid events
    expect(accepted).toBeGreaterThan(1000)
    expect(deferred).toBeGreaterThan(1000)
  })
})
