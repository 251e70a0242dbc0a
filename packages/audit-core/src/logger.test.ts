import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { PGlite } from '@electric-sql/pglite'
import { createAuditLogger, type AuditLogger, type AuditLoggerOptions } from './logger.ts'
import { runWithAuditContext } from './context.ts'
import { jsonSnapshot, SNAPSHOT_MAX_DEPTH } from './json-snapshot.ts'
import { exponential } from './queue/backoff.ts'
import { openPgliteStore } from './stores/pglite-store.ts'
import type { AuditStore } from './stores/store.ts'
import type { EventRow } from './schema/event.ts'

type Store = AuditStore & { db: PGlite }

/** A real PGlite store whose writes can be made to fail like a database that is down. */
function flaky(store: Store) {
  const state = { down: false, calls: 0, writing: 0, maxWriting: 0 }
  const wrapped: Store = Object.assign(Object.create(store) as Store, {
    insertEvents: async (rows: readonly EventRow[]) => {
      state.calls++
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
      state.maxWriting = Math.max(state.maxWriting, ++state.writing)
      try {
        return await store.insertEvents(rows)
      } finally {
        state.writing--
      }
    },
  })
  return { store: wrapped, state }
}

const silent = () => ({ warn: vi.fn(), error: vi.fn() })

let base: Store
beforeAll(async () => {
  base = await openPgliteStore({ dataDir: 'memory://' })
}, 60_000)

async function rows(where = 'true') {
  return (await base.db.query<Record<string, unknown>>(`select * from audit_events where ${where} order by timestamp, id`)).rows
}

/** Each test writes under its own operator so that tests share one database. */
let n = 0
function setup(opts: Partial<AuditLoggerOptions> = {}) {
  const tag = `t${++n}@example.com`
  const f = flaky(base)
  const log = silent()
  const audit = createAuditLogger({ store: f.store, log, batchSize: 10, flushIntervalMs: 1000, queueSize: 1000, ...opts })
  const count = async () => Number((await base.db.query<{ n: number }>('select count(*)::int as n from audit_events where operator = $1', [tag])).rows[0]?.n)
  const event = (i = 0) => ({ operationType: 'queue_test', result: 'success' as const, operator: tag, message: `m${i}` })
  return { audit, tag, ...f, log, count, event }
}

function identity(audit: AuditLogger) {
  const s = audit.stats()
  return s.enqueued === s.written + s.dropped + s.rejected + s.queueDepth
}

afterEach(() => {
  vi.useRealTimers()
})

describe('batching queue (fake timers)', () => {
  const fake = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] })

  it('flushes when a batch is full, without waiting for the interval', async () => {
    fake()
    const t = setup()
    for (let i = 0; i < 10; i++) await t.audit.logEvent(t.event(i))
    await vi.advanceTimersByTimeAsync(1)
    expect(await t.count()).toBe(10)
    for (let i = 0; i < 5; i++) await t.audit.logEvent(t.event(i))
    await vi.advanceTimersByTimeAsync(500)
    expect(await t.count()).toBe(10)
    await vi.advanceTimersByTimeAsync(500)
    expect(await t.count()).toBe(15)
  })

  it('flushes a partial batch after the interval', async () => {
    fake()
    const t = setup()
    for (let i = 0; i < 3; i++) await t.audit.logEvent(t.event(i))
    await vi.advanceTimersByTimeAsync(999)
    expect(await t.count()).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(await t.count()).toBe(3)
    expect(t.audit.stats()).toMatchObject({ enqueued: 3, written: 3, queueDepth: 0 })
  })

  it('retries with exponential backoff while the store is down and writes every event exactly once', async () => {
    fake()
    // one writer, so that the attempts counted are one batch's backoff
    const t = setup({ backoff: exponential({ baseMs: 100, maxMs: 10_000 }), writeConcurrency: 1 })
    t.state.down = true
    const ids = []
    for (let i = 0; i < 50; i++) ids.push(await t.audit.logEvent(t.event(i)))
    await vi.advanceTimersByTimeAsync(1)
    const callsAtStart = t.state.calls
    // backoff 100, 200, 400, 800 ms: four more attempts in the next 1.5 s, not one per tick
    await vi.advanceTimersByTimeAsync(1_500)
    expect(t.state.calls - callsAtStart).toBe(4)
    expect(await t.count()).toBe(0)
    expect(t.audit.stats().failed).toBeGreaterThanOrEqual(5)
    t.state.down = false
    await vi.advanceTimersByTimeAsync(10_000)
    await t.audit.flush()
    const written = await rows(`operator = '${t.tag}'`)
    expect(written.map((r) => r.id).sort()).toEqual([...ids].sort())
    expect(t.audit.stats()).toMatchObject({ enqueued: 50, written: 50, dropped: 0, rejected: 0, queueDepth: 0 })
    expect(t.audit.stats().retried).toBeGreaterThan(0)
    expect(t.log.warn).toHaveBeenCalled()
  })

  it('writes up to writeConcurrency batches at once, each event exactly once', async () => {
    const t = setup({ batchSize: 50, writeConcurrency: 2, queueSize: 10_000 })
    const ids = []
    for (let i = 0; i < 1_000; i++) ids.push(await t.audit.logEvent(t.event(i)))
    await t.audit.flush()
    expect(t.state.maxWriting).toBe(2)
    const written = await rows(`operator = '${t.tag}'`)
    expect(written.map((r) => r.id).sort()).toEqual([...ids].sort())
    expect(t.audit.stats()).toMatchObject({ enqueued: 1_000, written: 1_000, dropped: 0, rejected: 0, queueDepth: 0 })
  })

  it('drops what a full queue cannot hold while the store is down, and accounts for every event', async () => {
    fake()
    const t = setup({ queueSize: 100, retryBaseMs: 100 })
    t.state.down = true
    const results = []
    for (let i = 0; i < 250; i++) results.push(await t.audit.logEvent(t.event(i)))
    await vi.advanceTimersByTimeAsync(5_000)
    expect(results.filter((r) => r === null)).toHaveLength(150)
    t.state.down = false
    await vi.advanceTimersByTimeAsync(30_000)
    await t.audit.flush()
    const s = t.audit.stats()
    expect(await t.count()).toBe(100)
    expect(s).toMatchObject({ enqueued: 250, written: 100, dropped: 150, rejected: 0, queueDepth: 0 })
    expect(s.enqueued).toBe(s.written + s.dropped + s.rejected)
    // the drop warning is rate-limited: one line, not 150
    expect(t.log.warn.mock.calls.filter((c) => String(c[1]).includes('full')).length).toBe(1)
  })

  it('splits a batch around one poison event: 499 rows written, 1 rejected with its reason', async () => {
    fake()
    const t = setup({ batchSize: 100 })
    for (let i = 0; i < 500; i++) {
      // a lone surrogate passes validation but jsonb refuses it (SQLSTATE 22P05)
      const extraInfo = i === 321 ? { bad: '\ud800' } : { i }
      await t.audit.logEvent({ ...t.event(i), extraInfo })
    }
    await vi.advanceTimersByTimeAsync(2_000)
    await t.audit.flush()
    expect(await t.count()).toBe(499)
    expect(t.audit.stats()).toMatchObject({ enqueued: 500, written: 499, rejected: 1, dropped: 0 })
    expect(t.log.error).toHaveBeenCalledWith(expect.objectContaining({ reason: expect.stringMatching(/json|unicode/i) }), 'audit event rejected')
    expect(identity(t.audit)).toBe(true)
  })

  it.each([
    ['the database refuses it (a lone surrogate in extra_info)', { extraInfo: { token: 'tok-secret-1', bad: '\ud800' } }, /json|unicode/i],
    ['validation refuses it (an unknown result)', { result: 'bogus' as never, extraInfo: { token: 'tok-secret-1' } }, /result/i],
  ])('the line of a rejected event names it, never its values: %s', async (_label, fields, reason) => {
    const t = setup()
    const id = await runWithAuditContext({ requestId: 'req-7' }, () =>
      t.audit.logEvent({ ...t.event(), source: 'billing', message: 'reset the password of bob', ...fields }),
    )
    await t.audit.flush()
    expect(t.log.error).toHaveBeenCalledTimes(1)
    expect(t.log.error).toHaveBeenCalledWith(
      { reason: expect.stringMatching(reason), event: { id, source: 'billing', operation_type: 'queue_test', request_id: 'req-7' } },
      'audit event rejected',
    )
    const line = JSON.stringify(t.log.error.mock.calls)
    for (const value of [t.tag, 'reset the password', 'tok-secret-1']) expect(line).not.toContain(value)
  })

  it('shutdown writes everything queued', async () => {
    fake()
    const t = setup({ batchSize: 100 })
    for (let i = 0; i < 250; i++) await t.audit.logEvent(t.event(i))
    const report = await t.audit.shutdown({ deadlineMs: 5_000 })
    expect(report).toEqual({ written: 250, unwritten: 0, unwrittenIds: [] })
    expect(await t.count()).toBe(250)
    expect(await t.audit.logEvent(t.event())).toBeNull()
    expect(t.audit.stats()).toMatchObject({ enqueued: 251, written: 250, dropped: 1 })
  })

  it('shutdown with the store down gives up at the deadline and reports what it could not write', async () => {
    fake()
    const t = setup({ batchSize: 100, retryBaseMs: 100 })
    t.state.down = true
    for (let i = 0; i < 30; i++) await t.audit.logEvent(t.event(i))
    const done = t.audit.shutdown({ deadlineMs: 2_000 })
    await vi.advanceTimersByTimeAsync(2_500)
    expect(await done).toEqual({ written: 0, unwritten: 30, unwrittenIds: [] })
    expect(t.audit.stats()).toMatchObject({ enqueued: 30, written: 0, dropped: 30, queueDepth: 0 })
    expect(t.log.error).toHaveBeenCalledWith(expect.objectContaining({ unwritten: 30 }), expect.any(String))
  })
})

describe('logEvent records the event as it was at the call (issue 12, item 9)', () => {
  it('the reproduction: mutating the input and its extraInfo after the call changes nothing recorded', async () => {
    const t = setup()
    const info: Record<string, unknown> = { step: 1, nested: { a: 1 }, list: [1, { b: 1 }] }
    const input = { ...t.event(), message: 'first', extraInfo: info }
    const first = await t.audit.logEvent(input)
    info.step = 2
    ;(info.nested as { a: number }).a = 2
    ;((info.list as unknown[])[1] as { b: number }).b = 2
    ;(info.list as unknown[]).push(3)
    input.message = 'second'
    const second = await t.audit.logEvent(input)
    info.step = 3
    input.message = 'third'
    await t.audit.flush()
    const got = await rows(`operator = '${t.tag}'`)
    expect(got.map((r) => [r.id, r.message, r.extra_info])).toEqual([
      [first, 'first', { step: 1, nested: { a: 1 }, list: [1, { b: 1 }] }],
      [second, 'second', { step: 2, nested: { a: 2 }, list: [1, { b: 2 }, 3] }],
    ])
  })

  it('takes the time of a Date and the request context at the call', async () => {
    const t = setup()
    const at = new Date('2026-11-20T10:00:00.000Z')
    const ctx: { requestId: string; operator?: string } = { requestId: 'req-snap' }
    const id = await runWithAuditContext(ctx, () => t.audit.logEvent({ operationType: 'snap', result: 'success', timestamp: at, tenantId: t.tag }))
    at.setTime(0)
    ctx.requestId = 'changed'
    ctx.operator = 'later@example.com'
    await t.audit.flush()
    const [row] = await rows(`id = '${id}'`)
    expect(row).toMatchObject({ request_id: 'req-snap', operator: null })
    expect((row?.timestamp as Date).toISOString()).toBe('2026-11-20T10:00:00.000Z')
  })

  it('stores extra_info exactly as JSON would carry it at the call', async () => {
    const t = setup()
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    const info = {
      when: new Date('2026-01-02T03:04:05.000Z'),
      point: new Point(1, 2),
      skipped: undefined,
      fn: () => 1,
      nan: Number.NaN,
      list: [undefined, () => 1, Number.POSITIVE_INFINITY, 'x'],
      custom: { toJSON: () => ({ replaced: true }) },
      map: new Map([['k', 'v']]),
      boxed: Object('s') as string,
      ['__proto__']: 'a key like any other',
    }
    Object.defineProperty(info, '__proto__', { value: { own: true }, enumerable: true })
    const expected = JSON.parse(JSON.stringify(info)) as unknown
    expect(jsonSnapshot(info)).toEqual(expected)
    const id = await t.audit.logEvent({ ...t.event(), extraInfo: info })
    info.when.setTime(0)
    info.point.x = 9
    await t.audit.flush()
    const [row] = await rows(`id = '${id}'`)
    expect(row?.extra_info).toEqual(expected)
  })

  it('rejects at the call what cannot be recorded (a cycle, a BigInt, a throwing getter), never throwing, and counts it', async () => {
    const t = setup()
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const deep: Record<string, unknown> = {}
    let at = deep
    for (let i = 0; i < SNAPSHOT_MAX_DEPTH + 5; i++) at = (at.d = {})
    const throwing = {
      get boom(): never {
        throw new Error('getter exploded')
      },
    }
    expect(await t.audit.logEvent({ ...t.event(), extraInfo: cyclic })).toBeNull()
    expect(await t.audit.logEvent({ ...t.event(), extraInfo: { n: 10n } })).toBeNull()
    expect(await t.audit.logEvent({ ...t.event(), extraInfo: throwing })).toBeNull()
    expect(await t.audit.logEvent({ ...t.event(), extraInfo: deep })).toBeNull()
    await t.audit.logEvent(t.event())
    await t.audit.flush()
    expect(await t.count()).toBe(1)
    expect(t.audit.stats()).toMatchObject({ enqueued: 5, written: 1, rejected: 4, queueDepth: 0 })
    const reasons = t.log.error.mock.calls.map((c) => (c[0] as { reason: string }).reason)
    expect(reasons).toEqual([
      expect.stringMatching(new RegExp(`nested deeper than ${SNAPSHOT_MAX_DEPTH} levels, or refers to itself`)),
      'a BigInt cannot be stored as JSON',
      'getter exploded',
      expect.stringMatching(/nested deeper/),
    ])
  })
})

describe('logEvent and auditOperation', () => {
  it('writes the seed example with exactly the expected columns', async () => {
    const t = setup()
    const id = await t.audit.logEvent({
      operationType: 'stock_price_download',
      result: 'success',
      operator: t.tag,
      message: 'Successfully downloaded data for AAPL',
      extraInfo: { symbol: 'AAPL', records_count: 100 },
    })
    await t.audit.flush()
    const [row] = await rows(`id = '${id}'`)
    expect(row).toEqual({
      id,
      timestamp: expect.any(Date),
      source: 'api-service',
      operator: t.tag,
      operation_type: 'stock_price_download',
      result: 'success',
      message: 'Successfully downloaded data for AAPL',
      extra_info: { symbol: 'AAPL', records_count: 100 },
      severity: 'info',
      tenant_id: null,
      actor_type: null,
      resource_type: null,
      resource_id: null,
      request_id: null,
      ip_address: null,
      user_agent: null,
    })
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('auditOperation records success with duration_ms and returns the value', async () => {
    const t = setup()
    const value = await t.audit.auditOperation({ operationType: 'scan_process', operator: t.tag, extraInfo: { scan_id: 7 } }, async (op) => {
      op.extraInfo.found = 3
      return 'done'
    })
    await t.audit.flush()
    expect(value).toBe('done')
    const [row] = await rows(`operator = '${t.tag}'`)
    expect(row).toMatchObject({ operation_type: 'scan_process', result: 'success', severity: 'info' })
    expect(row?.extra_info).toEqual({ scan_id: 7, found: 3, duration_ms: expect.any(Number) })
  })

  it('auditOperation records failure with the error and rethrows the very same object', async () => {
    const t = setup()
    class QuotaError extends Error {
      override name = 'QuotaError'
    }
    const thrown = new QuotaError('quota exceeded')
    const caught = await t.audit
      .auditOperation({ operationType: 'stock_data_retrieval', operator: t.tag }, async () => {
        throw thrown
      })
      .catch((e: unknown) => e)
    expect(caught).toBe(thrown)
    await t.audit.flush()
    const [row] = await rows(`operator = '${t.tag}'`)
    expect(row).toMatchObject({ result: 'failure', severity: 'error', message: 'quota exceeded' })
    expect(row?.extra_info).toEqual({ duration_ms: expect.any(Number), error: { name: 'QuotaError', message: 'quota exceeded' } })
  })

  it('sync mode: the awaited call has written the row; a store failure never throws and the event is retried', async () => {
    const t = setup({ async: false, retryBaseMs: 5 })
    const id = await t.audit.logEvent(t.event(1))
    expect(await rows(`id = '${id}'`)).toHaveLength(1)
    t.state.down = true
    await expect(t.audit.logEvent(t.event(2))).resolves.toBeNull()
    expect(await t.count()).toBe(1)
    t.state.down = false
    await t.audit.flush()
    expect(await t.count()).toBe(2)
    expect(t.audit.stats()).toMatchObject({ enqueued: 2, written: 2, failed: 1, dropped: 0 })
  })

  it('disabled mode is a no-op', async () => {
    const t = setup({ enabled: false })
    expect(await t.audit.logEvent(t.event())).toBeNull()
    expect(await t.audit.auditOperation({ operationType: 'x', operator: t.tag }, () => 5)).toBe(5)
    await t.audit.flush()
    expect(await t.count()).toBe(0)
    expect(t.state.calls).toBe(0)
  })

  it('picks up the request context, explicit fields winning', async () => {
    const t = setup()
    await runWithAuditContext({ requestId: 'req-ctx', operator: t.tag, ipAddress: '203.0.113.9', userAgent: 'curl/8', tenantId: 'acme' }, async () => {
      await Promise.resolve()
      await t.audit.logEvent({ operationType: 'ctx', result: 'success' })
      await t.audit.logEvent({ operationType: 'ctx', result: 'warning', tenantId: 'other' })
    })
    await t.audit.flush()
    const got = await rows(`operator = '${t.tag}'`)
    expect(got.map((r) => [r.request_id, r.ip_address, r.user_agent, r.tenant_id, r.severity])).toEqual([
      ['req-ctx', '203.0.113.9', 'curl/8', 'acme', 'info'],
      ['req-ctx', '203.0.113.9', 'curl/8', 'other', 'warning'],
    ])
  })

  it('removes NUL bytes from strings and extra_info instead of failing the batch', async () => {
    const t = setup()
    const id = await t.audit.logEvent({ ...t.event(), message: 'a\u0000b', extraInfo: { 'k\u0000': 'x\u0000y', keep: '\\u0000' } })
    await t.audit.flush()
    const [row] = await rows(`id = '${id}'`)
    expect(row).toMatchObject({ message: 'ab', extra_info: { k: 'xy', keep: '\\u0000' } })
  })

  it('rejects an invalid event with a clear reason and never throws', async () => {
    const t = setup()
    await t.audit.logEvent({ ...t.event(), operationType: 'has spaces' })
    await t.audit.logEvent({ ...t.event(), result: 'ok' as never })
    await t.audit.logEvent({ ...t.event(), extraInfo: { blob: 'x'.repeat(33 * 1024) } })
    await t.audit.logEvent({ ...t.event(), extraInfo: { blob: 'é'.repeat(16 * 1024) } }) // 16 K characters, 32 KB of UTF-8
    await t.audit.logEvent({ ...t.event(), id: 'not-a-uuid' })
    await t.audit.logEvent({ ...t.event(), timestamp: 'yesterday' })
    await t.audit.logEvent({ ...t.event(), timestamp: Date.parse('+010000-01-01T00:00:00Z') })
    await t.audit.logEvent(t.event())
    await t.audit.flush()
    expect(await t.count()).toBe(1)
    expect(t.audit.stats()).toMatchObject({ enqueued: 8, written: 1, rejected: 7 })
    const reasons = t.log.error.mock.calls.map((c) => (c[0] as { reason: string }).reason).join('\n')
    expect(reasons).toMatch(/operation_type: operation_type must match/)
    expect(reasons).toMatch(/result: /)
    expect(reasons).toMatch(/extra_info: extra_info is \d+ bytes as JSON; at most 32768/)
    expect(reasons).toMatch(/extra_info: extra_info is 32779 bytes as JSON/)
    expect(reasons).toMatch(/id: Invalid UUID/)
    expect(reasons).toMatch(/timestamp: Invalid ISO datetime[^\n]*\n[^]*timestamp: Invalid ISO datetime/)
  })

  it('stores the time it was given, as a Date, a number or an ISO text', async () => {
    const t = setup()
    const at = Date.parse('2026-11-20T10:11:12.345Z')
    const ids = [
      await t.audit.logEvent({ ...t.event(), timestamp: new Date(at) }),
      await t.audit.logEvent({ ...t.event(), timestamp: at }),
      await t.audit.logEvent({ ...t.event(), timestamp: '2026-11-20T11:11:12.345+01:00' }),
    ]
    await t.audit.flush()
    const got = await rows(`id in ('${ids.join("','")}')`)
    expect(got.map((r) => (r.timestamp as Date).toISOString())).toEqual(Array(3).fill('2026-11-20T10:11:12.345Z'))
  })
})

describe('exit flush: a script that forgets shutdown() loses nothing silently', () => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.resolve(here, '../../..')
  // the modules themselves, not index.ts: supabase-js warns on stderr about Node 20 when loaded
  const logger = pathToFileURL(path.join(here, 'logger.ts')).href
  const pglite = pathToFileURL(path.join(here, 'stores/pglite-store.ts')).href

  /** Runs a script as its own node process (TypeScript through tsx, as the repository runs .ts). */
  async function run(source: string, args: string[] = [], nodeArgs: string[] = []) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'audit-exit-'))
    const file = path.join(dir, 'script.mts')
    await writeFile(file, source)
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    await rm(dir, { recursive: true, force: true })
    return { code, stdout, stderr }
  }

  const logs = `{ warn: (o, m) => console.error('WARN', m, JSON.stringify(o)), error: (o, m) => console.error('ERROR', m, JSON.stringify(o)) }`

  it('writes the queued events when the event loop empties (beforeExit): 100 rows in the database after the process exits', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'audit-exit-db-'))
    try {
      const r = await run(
        `import { createAuditLogger } from '${logger}'
import { openPgliteStore } from '${pglite}'
const store = await openPgliteStore({ dataDir: process.argv[2] })
const audit = createAuditLogger({ store, log: ${logs}, batchSize: 1000, flushIntervalMs: 3_600_000 })
for (let i = 0; i < 100; i++) audit.logEvent({ operationType: 'exit_flush', result: 'success', message: 'event ' + i })
console.log('queued', audit.stats().queueDepth)
`,
        [dataDir],
      )
      expect(r.stderr).toBe('')
      expect(r).toMatchObject({ code: 0, stdout: 'queued 100\n' })
      const store = await openPgliteStore({ dataDir })
      const got = await store.db.query<{ n: number; distinct: number }>("select count(*)::int as n, count(distinct message)::int as distinct from audit_events where operation_type = 'exit_flush'")
      await store.close()
      expect(got.rows[0]).toEqual({ n: 100, distinct: 100 })
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
    // PGlite's own timers (Postgres flushes its statistics after 10 s idle) keep the process up that long first
  }, 120_000)

  it('says on stderr how many events were lost when the process exits with them unwritten (process.exit)', async () => {
    const r = await run(
      `import { createAuditLogger } from '${logger}'
const store = { kind: 'pglite', insertEvents: async (rows) => rows.length, isDataError: () => false, close: async () => {} }
const audit = createAuditLogger({ store, log: ${logs}, batchSize: 1000, flushIntervalMs: 3_600_000 })
for (let i = 0; i < 42; i++) audit.logEvent({ operationType: 'lost', result: 'success' })
process.exit(3)
`,
    )
    expect(r.code).toBe(3)
    expect(r.stderr).toBe('audit: 42 events were never written: the process exited with them queued (await audit.shutdown() before exiting)\n')
  }, 60_000)

  it('one pair of process listeners for any number of loggers; shutdown() unregisters; a dropped logger is collected and leaves nothing behind', async () => {
    const r = await run(
      `import { createAuditLogger } from '${logger}'
const store = { kind: 'pglite', insertEvents: async (rows) => rows.length, isDataError: () => false, close: async () => {} }
const log = ${logs}
const baseline = [process.listenerCount('beforeExit'), process.listenerCount('exit')]
// listeners added since the start (tsx has its own)
const count = () => [process.listenerCount('beforeExit') - baseline[0], process.listenerCount('exit') - baseline[1]].join(',')
const base = count()
let loggers = Array.from({ length: 50 }, () => createAuditLogger({ store, log }))
console.log('50 loggers', count(), 'baseline', base)
for (const l of loggers.slice(0, 49)) await l.shutdown({ deadlineMs: 10 })
console.log('one left', count())
await loggers[49].shutdown({ deadlineMs: 10 })
console.log('none left', count())
const dropped = new WeakRef(createAuditLogger({ store, log }))
console.log('a dropped one', count())
loggers = null
for (let i = 0; i < 50 && count() !== base; i++) {
  globalThis.gc()
  await new Promise((r) => setTimeout(r, 10))
}
console.log('after gc', count(), dropped.deref() === undefined ? 'collected' : 'alive')
`,
      [],
      ['--expose-gc'],
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('50 loggers 1,1 baseline 0,0\none left 1,1\nnone left 0,0\na dropped one 1,1\nafter gc 0,0 collected\n')
  }, 60_000)
})
