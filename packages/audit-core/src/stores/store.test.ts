import { describe, expect, it } from 'vitest'
import { isDataSqlState, sqlStateKind } from './store.ts'

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
