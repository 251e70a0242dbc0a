import { describe, expect, it } from 'vitest'
import { inIdOrder, isDataSqlState, sqlStateKind } from './store.ts'

describe('sqlStateKind: what a failed write means', () => {
  it.each([
    // no SQLSTATE: network, driver and Node codes, timeouts
    [undefined, 'transient'],
    ['', 'transient'],
    ['ECONNREFUSED', 'transient'],
    ['ECONNRESET', 'transient'],
    ['EPIPE', 'transient'],
    ['EPERM', 'transient'],
    ['CONNECTION_CLOSED', 'transient'],
    ['ETIMEDOUT', 'transient'],
    ['PGRST000', 'transient'],
    [57014, 'transient'],
    // the server, not the rows
    ['08006', 'transient'],
    ['08P01', 'transient'],
    ['53300', 'transient'],
    ['53100', 'transient'],
    ['57014', 'transient'],
    ['57P01', 'transient'],
    ['57P03', 'transient'],
    ['55P03', 'transient'],
    ['40001', 'transient'],
    ['40P01', 'transient'],
    ['25006', 'transient'],
    ['25P02', 'transient'],
    ['26000', 'transient'],
    ['58030', 'transient'],
    // the store is misconfigured: retried until fixed, never rejected row by row
    ['28P01', 'misconfigured'],
    ['28000', 'misconfigured'],
    ['3D000', 'misconfigured'],
    ['3F000', 'misconfigured'],
    ['42P01', 'misconfigured'],
    ['42883', 'misconfigured'],
    ['42501', 'misconfigured'],
    ['0A000', 'misconfigured'],
    // the rows
    ['22P05', 'data'],
    ['22007', 'data'],
    ['22001', 'data'],
    ['23514', 'data'],
    ['23502', 'data'],
    ['23505', 'data'],
    ['P0001', 'data'],
    ['P0004', 'data'],
    ['54000', 'data'],
    ['XX000', 'data'],
  ])('%s is %s', (code, kind) => {
    expect(sqlStateKind(code)).toBe(kind)
    expect(isDataSqlState(code)).toBe(kind === 'data')
  })
})

describe('inIdOrder: the order every store writes a batch in', () => {
  it("sorts by the uuid's order whatever the case of its text, rows without an id first, and keeps an ordered array as it is", () => {
    const rows = [
      { id: '0190a0b0-0000-7000-8000-00000000000b', n: 1 },
      { id: '0190A0B0-0000-7000-8000-00000000000A', n: 2 },
      { id: undefined, n: 3 },
      { id: '0190a0b0-0000-7000-8000-000000000009', n: 4 },
    ]
    expect(inIdOrder(rows).map((r) => r.n)).toEqual([3, 4, 2, 1])
    const ordered = inIdOrder(rows)
    expect(inIdOrder(ordered)).toBe(ordered)
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4])
  })
})
