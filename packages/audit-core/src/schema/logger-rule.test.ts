/**
 * logEvent refuses what the HTTP edge refuses, through the same rule (the
 * column spec's schema): each hostile event is counted as rejected, logged
 * with the schema's reason, and never written, while the good event beside
 * it is.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuditLogger, type LogEventInput } from '../logger.ts'
import { openPgliteStore } from '../stores/pglite-store.ts'
import type { AuditStore } from '../stores/store.ts'
import { EXTRA_INFO_MAX_DEPTH } from './event.ts'

let store: AuditStore
beforeAll(async () => {
  store = await openPgliteStore({ dataDir: 'memory://' })
})
afterAll(() => store.close())

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {}
  for (let i = 1; i < depth; i++) v = { a: v }
  return v
}
const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic

let n = 0
/** Logs `fields` on a fresh logger beside one good event; answers what was counted, logged and written. */
async function logged(fields: Partial<LogEventInput>) {
  const operator = `rule-${++n}@example.com`
  const log = { warn: vi.fn(), error: vi.fn() }
  const audit = createAuditLogger({ store, log })
  await audit.logEvent({ operationType: 'rule_probe', result: 'success', operator, ...fields })
  await audit.logEvent({ operationType: 'rule_probe', result: 'success', operator })
  await audit.flush()
  const written = (await store.queryEvents({ filters: { operator: [operator] }, limit: 10 })).total
  const reasons = log.error.mock.calls.map((c) => (c[0] as { reason: string }).reason).join('\n')
  await audit.shutdown()
  return { stats: audit.stats(), written, reasons }
}

describe('logEvent refuses what the edge refuses, with the schema’s reason', () => {
  it('takes extra_info nested exactly to the limit (the snapshot and the schema count levels alike)', async () => {
    const r = await logged({ extraInfo: nested(EXTRA_INFO_MAX_DEPTH) })
    expect({ written: r.written, rejected: r.stats.rejected }).toEqual({ written: 2, rejected: 0 })
  })

  it.each([
    ['a lone surrogate in message', { message: 'a\ud800b' }, /message: message is not valid Unicode/],
    ['a lone surrogate in resource_id', { resourceId: '\udc00' }, /resource_id: resource_id is not valid Unicode/],
    ['a lone surrogate in an extra_info value', { extraInfo: { a: '\ud800' } }, /extra_info: extra_info is not valid Unicode/],
    ['a lone surrogate in an extra_info key, deep down', { extraInfo: { a: [{ ['\udfff']: 1 }] } }, /extra_info: extra_info is not valid Unicode/],
    ['extra_info nested past the limit', { extraInfo: nested(EXTRA_INFO_MAX_DEPTH + 1) }, /nested deeper than 32 levels/],
    ['extra_info nested 5,000 levels', { extraInfo: nested(5000) }, /nested deeper than 32 levels/],
    ['extra_info that refers to itself', { extraInfo: cyclic }, /nested deeper/],
    ['year 0 through an offset', { timestamp: '0000-01-01T00:30:00+01:00' }, /timestamp: Invalid ISO datetime|years 0001 to 9999/],
    ['year 10000 through an offset', { timestamp: '9999-12-31T23:59:59-23:59' }, /timestamp: Invalid ISO datetime|years 0001 to 9999/],
    ['an address that is not one', { ipAddress: 'not-an-ip' }, /ip_address: ip_address must be an IPv4 or IPv6 address/],
  ] as const)('%s', async (_label, fields, reason) => {
    const r = await logged(fields)
    expect({ written: r.written, rejected: r.stats.rejected, enqueued: r.stats.enqueued }).toEqual({ written: 1, rejected: 1, enqueued: 2 })
    expect(r.reasons).toMatch(reason)
  })

  // the caller's own time goes through the same rule (schema/time.ts), not Date.parse
  it.each([
    ['an impossible calendar date (stored as March 1 today)', { timestamp: '2024-02-30T00:00:00Z' }],
    ['a Date in year 0 (refused by the database, not by the rule)', { timestamp: new Date(Date.parse('0000-06-01T00:00:00Z')) }],
  ] as const)('%s', async (_label, fields) => {
    const r = await logged(fields)
    expect({ written: r.written, rejected: r.stats.rejected }).toEqual({ written: 1, rejected: 1 })
    expect(r.reasons).toMatch(/timestamp: /)
  })
})
