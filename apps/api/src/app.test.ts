import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import SwaggerParser from '@apidevtools/swagger-parser'
import { StoreUnavailableError, newEventId, type AuditStore, type EventRow } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { testApp } from '../test-support/test-app.ts'

const E = '/api/v1/audit/events'
const ok = { source: 'api-service', operation_type: 'config_update', result: 'success' }

describe('events API', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  beforeAll(async () => {
    t = await testApp({ maxBodyBytes: 64 * 1024 })
  }, 60_000)
  afterAll(() => t.close())

  async function count(where: string) {
    await t.audit.flush()
    const r = await t.call(`${E}?${where}&limit=1`)
    return r.json.total as number
  }

  describe('POST', () => {
    it('answers 201 with its id once the event is committed: it reads back at once', async () => {
      const r = await t.call(E, { body: { ...ok, operator: 'ana@example.com', extra_info: { symbol: 'AAPL', records_count: 100 } }, key: 'ingest' })
      expect(r.status).toBe(201)
      expect(r.json).toEqual({ accepted: 1, ids: [expect.stringMatching(/^[0-9a-f-]{36}$/)] })
      // no flush: 201 means committed
      const got = await t.call(`${E}/${r.json.ids[0]}`, { key: 'read' })
      expect(got.status).toBe(200)
      expect(got.json).toMatchObject({ ...ok, operator: 'ana@example.com', extra_info: { symbol: 'AAPL', records_count: 100 }, severity: 'info', request_id: null })
    })

    it('accepts a batch, honours client ids and timestamps, and is idempotent on id', async () => {
      const id = '01900000-0000-7000-8000-0000000000aa'
      const body = { events: [{ ...ok, id, timestamp: '2026-01-02T03:04:05+02:00', operation_type: 'batch_x' }, { ...ok, operation_type: 'batch_x', result: 'failure' }] }
      const r = await t.call(E, { body })
      expect(r.status).toBe(201)
      expect(r.json.accepted).toBe(2)
      expect(r.json.ids[0]).toBe(id)
      expect((await t.call(E, { body })).status).toBe(201)
      expect((await t.call(`${E}?operation_type=batch_x&limit=1`)).json.total).toBe(3)
      const got = await t.call(`${E}/${id}`)
      expect(got.json.timestamp).toBe('2026-01-02T01:04:05.000Z')
      const failure = await t.call(`${E}?operation_type=batch_x&result=failure`)
      expect(failure.json.events.map((e: { severity: string }) => e.severity)).toEqual(['error', 'error'])
    })

    it('rejects the whole batch with 422 when one event is invalid, and writes nothing', async () => {
      const r = await t.call(E, { body: { events: [{ ...ok, operation_type: 'atomic' }, { ...ok, operation_type: 'atomic', result: 'maybe' }] } })
      expect(r.status).toBe(422)
      expect(r.json.detail).toEqual([{ loc: ['body', 'events', 1, 'result'], msg: expect.stringContaining('success'), type: 'enum' }])
      expect(await count('operation_type=atomic')).toBe(0)
    })

    // FastAPI's (pydantic v2's) type and message for each
    it.each([
      ['a missing required field', { source: 'x', result: 'success' }, ['body', 'operation_type'], 'missing', 'Field required'],
      ['a missing enum field', { source: 'x', operation_type: 'y' }, ['body', 'result'], 'missing', 'Field required'],
      ['a value outside an enum', { ...ok, result: 'maybe' }, ['body', 'result'], 'enum', "Input should be 'success', 'failure' or 'warning'"],
      ['a field over its length', { ...ok, operator: 'o'.repeat(256) }, ['body', 'operator'], 'string_too_long', 'String should have at most 255 characters'],
      ['a number for a string', { ...ok, source: 5 }, ['body', 'source'], 'string_type', 'Input should be a valid string'],
      ['a bad source name', { ...ok, source: 'Not Valid' }, ['body', 'source'], 'string_pattern_mismatch', 'source must match [a-z0-9_.:-]{1,50}'],
      ['an unknown field', { ...ok, colour: 'red' }, ['body', 'colour'], 'extra_forbidden', 'Extra inputs are not permitted'],
      ['a bad timestamp', { ...ok, timestamp: 'yesterday' }, ['body', 'timestamp'], 'datetime_parsing', expect.stringContaining('Invalid ISO datetime')],
      ['a bad id', { ...ok, id: 'not-a-uuid' }, ['body', 'id'], 'uuid_parsing', expect.stringMatching(/^Input should be a valid UUID, invalid character: .* found `n` at 1$/)],
      ['a bad ip', { ...ok, ip_address: '999.1.1.1' }, ['body', 'ip_address'], 'ip_any_address', 'ip_address must be an IPv4 or IPv6 address'],
      ['extra_info that is a list', { ...ok, extra_info: [1] }, ['body', 'extra_info'], 'dict_type', 'Input should be a valid dictionary'],
      ['extra_info over 32 KiB', { ...ok, extra_info: { blob: 'x'.repeat(33_000) } }, ['body', 'extra_info'], 'string_too_long', expect.stringMatching(/bytes as JSON; at most 32768/)],
      ['an empty batch', { events: [] }, ['body', 'events'], 'too_short', 'List should have at least 1 item after validation, not 0'],
      ['a body that is a list', [ok], ['body'], 'model_attributes_type', 'Input should be a valid dictionary or object to extract fields from'],
    ])('422 for %s', async (_label, body, loc, type, msg) => {
      const r = await t.call(E, { body })
      expect(r.status).toBe(422)
      expect(r.json.detail[0]).toEqual({ loc, msg, type })
    })

    it('422 for a batch over 1000 events', async () => {
      const big = await testApp({ maxBodyBytes: 4 * 1024 * 1024 })
      const r = await big.call(E, { body: { events: Array.from({ length: 1001 }, () => ok) } })
      expect(r.status).toBe(422)
      expect(r.json.detail[0]).toEqual({ loc: ['body', 'events'], msg: 'List should have at most 1000 items after validation, not 1001', type: 'too_long' })
      await big.close()
    })

    it('422 for an event with its own id that is not a UUIDv7 and no timestamp: a re-send could not be recognised', async () => {
      const own = '0b7e6a52-3f1c-4a8e-9d2b-5c6f7e8a9b0c' // v4
      const r = await t.call(E, { body: { events: [ok, { ...ok, id: own }] } })
      expect(r.status).toBe(422)
      expect(r.json.detail).toEqual([{ loc: ['body', 'events', 1, 'timestamp'], msg: expect.stringContaining('not a UUIDv7'), type: 'missing' }])
      const one = await t.call(E, { body: { ...ok, id: own } })
      expect(one.json.detail[0].loc).toEqual(['body', 'timestamp'])
      // with its timestamp, or a UUIDv7 id of now, it is taken
      expect((await t.call(E, { body: { ...ok, id: own, timestamp: new Date().toISOString() } })).status).toBe(201)
      expect((await t.call(E, { body: { ...ok, id: newEventId() } })).status).toBe(201)
    })

    it('422 for malformed JSON and for a wrong content type', async () => {
      const bad = await t.call(E, { body: '{"source": "x",' })
      expect(bad.status).toBe(422)
      expect(bad.json.detail[0]).toMatchObject({ loc: ['body', expect.any(Number)], type: 'json_invalid' })
      const ct = await t.call(E, { body: JSON.stringify(ok), headers: { 'content-type': 'text/plain' } })
      expect(ct.status).toBe(422)
      expect(ct.json.detail[0]).toMatchObject({ loc: ['body'], type: 'content_type' })
    })

    it('413 past the body limit', async () => {
      const r = await t.call(E, { body: { events: Array.from({ length: 400 }, () => ({ ...ok, message: 'm'.repeat(200) })) } })
      expect(r.status).toBe(413)
      expect(r.json.detail).toMatch(/larger than 65536 bytes/)
    })

    it('an idle server takes a batch of the documented maximum (1000), whatever the queue size', async () => {
      const small = await testApp({ maxBodyBytes: 4 * 1024 * 1024, audit: { queueSize: 5, flushIntervalMs: 60_000, batchSize: 100 } })
      const r = await small.call(E, { body: { events: Array.from({ length: 1000 }, () => ({ ...ok, operation_type: 'max_batch' })) } })
      expect(r.status).toBe(201)
      expect((await small.call(`${E}?operation_type=max_batch&limit=1`)).json.total).toBe(1000)
      expect(small.audit.stats()).toMatchObject({ enqueued: 1000, written: 1000, dropped: 0, queueDepth: 0 })
      await small.close()
    })

    it('one sequential client never gets a 503: 20 POSTs of 500 events, all 201 and all written (issue 12, item 5)', async () => {
      const seq = await testApp({ countCap: 100_000 })
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) {
        const events = Array.from({ length: 500 }, (_, j) => ({ ...ok, operation_type: 'sequential', message: `event ${i * 500 + j}` }))
        statuses.push((await seq.call(E, { key: 'ingest', body: { events } })).status)
      }
      expect(statuses).toEqual(Array(20).fill(201))
      expect((await seq.call(`${E}?operation_type=sequential&limit=1`)).json.total).toBe(10_000)
      await seq.close()
    })

    it('concurrent requests share writes (group commit), each answered 201 after its commit', async () => {
      const base = await openPgliteStore({ dataDir: 'memory://' })
      let writes = 0
      const counting: AuditStore = Object.assign(Object.create(base) as AuditStore, {
        insertEvents: (rows: readonly EventRow[]) => {
          writes++
          return base.insertEvents(rows)
        },
      })
      const g = await testApp({ store: counting, audit: { writeConcurrency: 1 } })
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, i) => g.call(E, { key: 'ingest', body: { events: Array.from({ length: 5 }, () => ({ ...ok, operation_type: `group_${i}` })) } })),
      )
      expect(rs.map((r) => r.status)).toEqual(Array(20).fill(201))
      expect(writes).toBeLessThan(20)
      expect((await g.call(`${E}?operation_type=${Array.from({ length: 20 }, (_, i) => `group_${i}`).join(',')}&limit=1`)).json.total).toBe(100)
      await g.close()
    })

    it('Prefer: respond-async answers 202 from memory, with Preference-Applied; the events are written afterwards', async () => {
      const r = await t.call(E, { key: 'ingest', headers: { prefer: 'respond-async, wait=5' }, body: { events: [{ ...ok, operation_type: 'async_pref' }, { ...ok, operation_type: 'async_pref' }] } })
      expect(r.status).toBe(202)
      expect(r.headers.get('preference-applied')).toBe('respond-async')
      expect(r.json).toEqual({ accepted: 2, ids: [expect.any(String), expect.any(String)] })
      expect(await count('operation_type=async_pref')).toBe(2)
    })

    describe('when the database cannot take the events', () => {
      afterEach(() => {
        vi.useRealTimers()
      })

      /** A real store whose writes fail as an unreachable server's do, while `down`. */
      async function downApp(audit: Record<string, unknown>) {
        const base = await openPgliteStore({ dataDir: 'memory://' })
        const state = { down: true, attempts: 0 }
        const store: AuditStore = Object.assign(Object.create(base) as AuditStore, {
          insertEvents: async (rows: readonly EventRow[]) => {
            state.attempts++
            if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
            return base.insertEvents(rows)
          },
        })
        return { ...(await testApp({ store, audit })), state }
      }

      it('waits AUDIT_INGEST_WAIT_MS, then 503 with the backoff as Retry-After, and the events are never written later', async () => {
        const d = await downApp({ ingestWaitMs: 4000, backoff: () => 7000, writeConcurrency: 1 })
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
        const pending = d.call(E, { key: 'ingest', body: { events: [{ ...ok, operation_type: 'while_down' }, { ...ok, operation_type: 'while_down' }] } })
        let done = false
        void pending.then(() => (done = true))
        // the first attempt, at (fake) time 0
        while (d.state.attempts === 0) await new Promise(setImmediate)
        await vi.advanceTimersByTimeAsync(3999)
        expect(done).toBe(false)
        await vi.advanceTimersByTimeAsync(1)
        const r = await pending
        expect(r.status).toBe(503)
        expect(r.json.detail).toMatch(/not committed within AUDIT_INGEST_WAIT_MS.*None of them was written, nor will be/)
        // the first attempt failed at 0 and the next is due at 7 s: 3 s from now
        expect(r.headers.get('retry-after')).toBe('3')
        d.state.down = false
        await vi.advanceTimersByTimeAsync(60_000)
        vi.useRealTimers()
        await d.audit.flush()
        expect((await d.call(`${E}?operation_type=while_down&limit=1`)).json.total).toBe(0)
        const s = d.audit.stats()
        expect(s).toMatchObject({ enqueued: 2, written: 0, dropped: 2, queueDepth: 0 })
        expect(s.enqueued).toBe(s.written + s.dropped + s.rejected + s.queueDepth)
        // a resend after the database is back is written once
        expect((await d.call(E, { key: 'ingest', body: { ...ok, operation_type: 'while_down' } })).status).toBe(201)
        await d.close()
      })

      it('with the writers saturated a request waits for room, bounded, then 503 with Retry-After; nothing of it is written', async () => {
        const d = await downApp({ ingestWaitMs: 2000, queueSize: 10, backoff: () => 5000 })
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
        const first = d.call(E, { key: 'ingest', headers: { prefer: 'respond-async' }, body: { events: Array.from({ length: 10 }, () => ({ ...ok, operation_type: 'fills_queue' })) } })
        await vi.advanceTimersByTimeAsync(0)
        expect((await first).status).toBe(202)
        const second = d.call(E, { key: 'ingest', body: { events: [{ ...ok, operation_type: 'no_room' }] } })
        await vi.advanceTimersByTimeAsync(2000)
        const r = await second
        expect(r.status).toBe(503)
        expect(r.json.detail).toMatch(/no room/)
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(3)
        d.state.down = false
        await vi.advanceTimersByTimeAsync(10_000)
        vi.useRealTimers()
        await d.audit.flush()
        expect((await d.call(`${E}?operation_type=no_room&limit=1`)).json.total).toBe(0)
        expect((await d.call(`${E}?operation_type=fills_queue&limit=1`)).json.total).toBe(10)
        await d.close()
      })
    })

    describe('an event the database refuses (a trigger raising P0001)', () => {
      let db: Awaited<ReturnType<typeof openPgliteStore>>
      let r: Awaited<ReturnType<typeof testApp>>
      beforeAll(async () => {
        db = await openPgliteStore({ dataDir: 'memory://' })
        await db.db.exec(`
          create function refuse_poison() returns trigger language plpgsql as $$
          begin
            if new.message = 'poison' then raise exception 'poison event %', new.id; end if;
            if new.message = 'anonymous poison' then raise exception 'refused by policy'; end if;
            return new;
          end $$;
          create trigger refuse_poison before insert on public.audit_events for each row execute function refuse_poison();`)
        r = await testApp({ store: db })
      }, 60_000)
      afterAll(() => r.close())

      it('422 naming the event and the reason; none of the request is written; other requests are', async () => {
        const events = [{ ...ok, operation_type: 'refused_req' }, { ...ok, operation_type: 'refused_req', message: 'poison' }, { ...ok, operation_type: 'refused_req' }]
        const [bad, good] = await Promise.all([
          r.call(E, { key: 'ingest', body: { events } }),
          r.call(E, { key: 'ingest', body: { events: [{ ...ok, operation_type: 'neighbour' }] } }),
        ])
        expect(bad.status).toBe(422)
        expect(bad.json.detail).toEqual([
          { loc: ['body', 'events', 1], msg: expect.stringMatching(/^The database refused event 1: poison event [0-9a-f-]{36}\. None of the request's 3 events was written\.$/), type: 'value_error' },
        ])
        expect(good.status).toBe(201)
        expect((await r.call(`${E}?operation_type=refused_req&limit=1`)).json.total).toBe(0)
        expect((await r.call(`${E}?operation_type=neighbour&limit=1`)).json.total).toBe(1)
        const s = r.audit.stats()
        expect(s.enqueued).toBe(s.written + s.dropped + s.rejected + s.queueDepth)
        expect(s.rejected).toBe(3)
      })

      it('422 on the request when the error names no event; a single event is named by its body', async () => {
        const batch = await r.call(E, { key: 'ingest', body: { events: [{ ...ok, operation_type: 'anon_refused' }, { ...ok, operation_type: 'anon_refused', message: 'anonymous poison' }] } })
        expect(batch.status).toBe(422)
        expect(batch.json.detail).toEqual([{ loc: ['body', 'events'], msg: "The database refused an event of this request: refused by policy. None of the request's 2 events was written.", type: 'value_error' }])
        const one = await r.call(E, { key: 'ingest', body: { ...ok, operation_type: 'anon_refused', message: 'anonymous poison' } })
        expect(one.status).toBe(422)
        expect(one.json.detail).toEqual([{ loc: ['body'], msg: 'The database refused the event: refused by policy. It was not written.', type: 'value_error' }])
        expect((await r.call(`${E}?operation_type=anon_refused&limit=1`)).json.total).toBe(0)
      })
    })

    it('503 saying so when logging is disabled: nothing is acknowledged that is not written', async () => {
      const off = await testApp({ audit: { enabled: false } })
      const r = await off.call(E, { key: 'ingest', body: ok })
      expect(r.status).toBe(503)
      expect(r.json.detail).toMatch(/AUDIT_LOGGING_ENABLED=false/)
      await off.close()
    })

    it('201 in sync mode, with the rows already written', async () => {
      const sync = await testApp({ audit: { async: false } })
      const r = await sync.call(E, { body: { events: [ok, ok] } })
      expect(r.status).toBe(201)
      const list = await sync.call(`${E}?limit=10`)
      expect(list.json.total).toBe(2)
      await sync.close()
    })
  })

  describe('GET', () => {
    it.each([
      ['limit=0', ['query', 'limit'], 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['limit=1001', ['query', 'limit'], 'less_than_equal', 'Input should be less than or equal to 1000'],
      ['limit=ten', ['query', 'limit'], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['limit=1.5', ['query', 'limit'], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['limit=', ['query', 'limit'], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['limit=1e3', ['query', 'limit'], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['offset=', ['query', 'offset'], 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['offset=-1', ['query', 'offset'], 'greater_than_equal', 'Input should be greater than or equal to 0'],
      ['result=maybe', ['query', 'result', 0], 'enum', "Input should be 'success', 'failure' or 'warning'"],
      ['severity=loud', ['query', 'severity', 0], 'enum', "Input should be 'debug', 'info', 'warning', 'error' or 'critical'"],
      ['start_date=2026-13-45', ['query', 'start_date'], 'datetime_from_date_parsing', '2026-13-45 is not a real date and time'],
      ['end_date=last%20week', ['query', 'end_date'], 'datetime_from_date_parsing', expect.stringContaining('Input should be a valid ISO 8601 date or datetime')],
      ['order=up', ['query', 'order'], 'enum', "Input should be 'desc' or 'asc'"],
      ['q=' + 'x'.repeat(201), ['query', 'q'], 'string_too_long', 'String should have at most 200 characters'],
      ['source=' + 'x'.repeat(51), ['query', 'source', 0], 'string_too_long', 'String should have at most 50 characters'],
      ['after=nope', ['query', 'after'], 'uuid_parsing', expect.stringContaining('Input should be a valid UUID, invalid character')],
      ['extra.bad%20key=1', ['query', 'extra.bad key'], 'value_error', 'extra_info key must match [A-Za-z0-9_.:-]{1,100}'],
    ])('422 for %s', async (qs, loc, type, msg) => {
      const r = await t.call(`${E}?${qs}`)
      expect(r.status).toBe(422)
      expect(r.json.detail).toEqual([{ loc, msg, type }])
    })

    it('answers the page envelope with defaults', async () => {
      const r = await t.call(E, { key: 'read' })
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ limit: 100, offset: 0, has_more: false, total: expect.any(Number), total_exact: true })
      expect(r.json.events.length).toBe(r.json.total)
    })

    it('counts exactly up to AUDIT_COUNT_CAP, then answers an estimate flagged total_exact: false', async () => {
      const c = await testApp({ countCap: 20, audit: { async: false } })
      const events = Array.from({ length: 60 }, (_, i) => ({ source: 'api-service', operation_type: i < 10 ? 'few' : 'many', result: 'success' }))
      expect((await c.call(E, { key: 'ingest', body: { events } })).status).toBe(201)
      const many = await c.call(`${E}?limit=25`, { key: 'read' })
      expect(many.json).toMatchObject({ total_exact: false, has_more: true })
      expect(many.json.total).toBeGreaterThan(20)
      const last = await c.call(`${E}?limit=25&offset=50`, { key: 'read' })
      expect(last.json).toMatchObject({ total_exact: false, has_more: false })
      expect(last.json.events).toHaveLength(10)
      const few = await c.call(`${E}?operation_type=few&limit=5`, { key: 'read' })
      expect(few.json).toMatchObject({ total: 10, total_exact: true, has_more: true })
      await c.close()
    })

    it('404 for an unknown id and 422 for a malformed one', async () => {
      const r = await t.call(`${E}/01900000-0000-7000-8000-00000000ffff`)
      expect(r.status).toBe(404)
      expect(r.json).toEqual({ detail: 'Event not found' })
      const bad = await t.call(`${E}/not-a-uuid`)
      expect(bad.status).toBe(422)
      expect(bad.json.detail[0].loc).toEqual(['path', 'id'])
    })

    it('404 with a detail for an unknown path', async () => {
      const r = await t.call('/api/v1/nothing')
      expect(r).toMatchObject({ status: 404, json: { detail: 'Not Found' } })
    })
  })

  describe('auth', () => {
    it('401 without a key or with an unknown key, 403 for the wrong role', async () => {
      expect(await t.call(E, { key: null })).toMatchObject({ status: 401, json: { detail: 'Not authenticated' } })
      expect((await t.call(E, { key: null })).headers.get('www-authenticate')).toBe('Bearer')
      expect(await t.call(E, { key: 'not-a-real-key-000000' })).toMatchObject({ status: 401 })
      expect(await t.call(E, { key: 'ingest' })).toMatchObject({ status: 403, json: { detail: 'Forbidden' } })
      expect(await t.call(E, { key: 'read', body: ok })).toMatchObject({ status: 403, json: { detail: 'Forbidden' } })
      expect((await t.call(E, { key: 'ingest', body: ok })).status).toBe(201)
      expect((await t.call(E, { key: 'read' })).status).toBe(200)
    })

    it('records failed authentications as warning events, rate-limited per address', async () => {
      const fresh = await testApp()
      await fresh.call(E, { key: 'read', body: ok })
      for (let i = 0; i < 20; i++) await fresh.call(`${E}?i=${i}`, { key: 'wrong-key-wrong-key', headers: { 'user-agent': 'scanner/1.0' } })
      await fresh.audit.flush()
      const r = await fresh.call(`${E}?source=system&limit=100`)
      const kinds = r.json.events.map((e: { operation_type: string }) => e.operation_type)
      // 5 a minute per address: the forbidden one and 4 of the 20 failures
      expect(kinds.filter((k: string) => k === 'auth_failed')).toHaveLength(4)
      expect(kinds.filter((k: string) => k === 'access_denied')).toHaveLength(1)
      const denied = r.json.events.find((e: { operation_type: string }) => e.operation_type === 'access_denied')
      expect(denied).toMatchObject({ result: 'warning', severity: 'warning', operator: 'read-key', extra_info: { method: 'POST', path: E, reason: 'forbidden' } })
      const failed = r.json.events.find((e: { operation_type: string }) => e.operation_type === 'auth_failed')
      expect(failed).toMatchObject({ user_agent: 'scanner/1.0', request_id: expect.any(String), extra_info: { reason: 'invalid_key', path: E } })
      await fresh.close()
    })
  })

  describe('request context', () => {
    it('echoes X-Request-Id, or makes one', async () => {
      const given = await t.call(E, { headers: { 'x-request-id': 'abc-123' } })
      expect(given.headers.get('x-request-id')).toBe('abc-123')
      const made = await t.call(E)
      expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      const hostile = await t.call(E, { headers: { 'x-request-id': 'a b\u00e9' } })
      expect(hostile.headers.get('x-request-id')).not.toBe('a b\u00e9')
    })
  })

  describe('errors', () => {
    it('answers 500 with no stack trace when the store fails unexpectedly', async () => {
      const pg = await testApp()
      const broken: AuditStore = Object.assign(Object.create(pg.store), {
        queryEvents: async () => {
          throw new Error('secret internal detail at /srv/app.ts:42')
        },
      })
      const app = await testApp({ store: broken })
      const r = await app.call(E)
      expect(r).toMatchObject({ status: 500, json: { detail: 'Internal Server Error' } })
      expect(r.text).not.toMatch(/secret|app\.ts/)
      await pg.close()
    })

    it('answers 503 with Retry-After when the store cannot be reached (a read during an outage)', async () => {
      const pg = await testApp()
      const down: AuditStore = Object.assign(Object.create(pg.store), {
        queryEvents: async () => {
          throw new StoreUnavailableError('the audit store is unavailable: connect ECONNREFUSED 10.1.2.3:5432')
        },
      })
      const app = await testApp({ store: down })
      const r = await app.call(E)
      expect(r).toMatchObject({ status: 503, json: { detail: 'The audit store is unavailable; retry later' } })
      expect(r.headers.get('retry-after')).toBe('5')
      expect(r.text).not.toMatch(/10\.1\.2\.3/)
      await pg.close()
    })
  })

  describe('system endpoints', () => {
    it('GET /health reports the store and the queue', async () => {
      const r = await t.call('/health', { key: null })
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ status: 'ok', store: 'pglite', database: 'ok', queue: { enqueued: expect.any(Number), queueDepth: expect.any(Number) } })
    })

    it('GET /metrics is Prometheus text with the queue figures and durations', async () => {
      await t.call(E)
      const r = await t.call('/metrics', { key: null })
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toMatch(/text\/plain/)
      for (const name of ['audit_queue_depth', 'audit_events_enqueued_total', 'audit_events_written_total', 'audit_events_dropped_total', 'audit_events_rejected_total', 'audit_events_failed_total', 'audit_events_retried_total', 'audit_flush_duration_seconds', 'http_request_duration_seconds_bucket']) {
        expect(r.text).toContain(name)
      }
      expect(r.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/audit\/events",status="200"\} \d+/)
    })

    it('GET /openapi.json is a valid OpenAPI document describing every endpoint with its parameters and errors', async () => {
      const r = await t.call('/openapi.json', { key: null })
      expect(r.status).toBe(200)
      const doc = await SwaggerParser.validate(structuredClone(r.json))
      const list = doc.paths?.['/api/v1/audit/events']?.get
      expect(list?.parameters?.map((p) => ('name' in p ? p.name : ''))).toEqual(
        expect.arrayContaining(['start_date', 'end_date', 'operation_type', 'result', 'source', 'operator', 'severity', 'q', 'limit', 'offset', 'order']),
      )
      expect(Object.keys(list?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '403', '422', '500']))
      const post = doc.paths?.['/api/v1/audit/events']?.post
      expect(Object.keys(post?.responses ?? {})).toEqual(expect.arrayContaining(['201', '202', '413', '422', '503']))
      expect(post?.responses?.['503']).toMatchObject({ headers: { 'Retry-After': expect.any(Object) } })
      expect(post?.responses?.['202']).toMatchObject({ headers: { 'Preference-Applied': expect.any(Object) } })
      expect(post?.parameters?.map((p) => ('name' in p ? [p.name, p.in] : []))).toContainEqual(['prefer', 'header'])
      expect(post?.description).toMatch(/201 once every event of the request is committed/)
      expect(doc.paths?.['/api/v1/audit/events/{id}']?.get?.responses).toHaveProperty('404')
    })

    it('GET /docs serves the interactive docs page with its assets', async () => {
      const page = await t.call('/docs', { key: null })
      expect(page.status).toBe(200)
      expect(page.text).toContain('swagger-ui-bundle.js')
      const js = await t.app.request('/docs/swagger-ui-bundle.js')
      expect(js.status).toBe(200)
      expect((await js.text()).length).toBeGreaterThan(100_000)
    })
  })
})
