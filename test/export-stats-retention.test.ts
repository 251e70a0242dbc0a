import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Papa from 'papaparse'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { EVENT_COLUMNS, type AuditEvent, type AuditStore, type EventRow } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { referenceFilter, seedEvents } from '@audit/core/testing'
import { testApp, KEYS } from '../apps/api/test-support/test-app.ts'
import { csvLine, trickyEvent } from './csv-rule.ts'
import { msUntil, parseRetention, parseSchedule, runRetention, scheduleDaily } from '../apps/api/src/retention.ts'

const E = '/api/v1/audit/events'
const NOW = Date.parse('2026-11-20T12:00:00.000Z')

describe('export of 200,000 events', () => {
  const N = 200_000
  let t: Awaited<ReturnType<typeof testApp>>
  let dir: string
  beforeAll(async () => {
    // On files, as the server runs it (an in-memory PGlite would hold the whole database in this process's heap).
    dir = await mkdtemp(path.join(os.tmpdir(), 'audit-export-'))
    const store = await openPgliteStore({ dataDir: dir })
    for (let s = 0; s < N / 10_000; s++) {
      const rows = seedEvents(10_000, { now: NOW - s * 3_600_000, days: 20, seed: 100 + s })
      for (let i = 0; i < rows.length; i += 5000) await store.insertEvents(rows.slice(i, i + 5000))
    }
    t = await testApp({ store, maxBodyBytes: 1 << 20 })
  }, 300_000)
  afterAll(async () => {
    await t.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('streams every row while RSS grows by less than 100 MB', async () => {
    const res = await t.app.request(`${E}/export?format=csv`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-total-count')).toBe(String(N))
    const base = process.memoryUsage().rss
    let peak = base
    let lines = 0
    const reader = res.body!.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      for (const byte of value) if (byte === 10) lines++
      peak = Math.max(peak, process.memoryUsage().rss)
    }
    const growthMb = (peak - base) / 2 ** 20
    console.log(`export: ${N} rows, RSS growth ${growthMb.toFixed(1)} MB`)
    expect(lines).toBe(N + 1)
    expect(growthMb).toBeLessThan(100)
  }, 120_000)

  it('is byte for byte the events the database holds, and papaparse reads it back', async () => {
    const res = await t.app.request(`${E}/export?format=csv&order=asc`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    const text = await res.text()
    const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true })
    expect(parsed.errors).toEqual([])
    expect(parsed.data[0]).toEqual([...EVENT_COLUMNS])
    expect(parsed.data).toHaveLength(N + 1)
    let at = text.indexOf('\n') + 1
    let i = 0
    let after: string | undefined
    for (;;) {
      const page = await t.store.queryEvents({ filters: {}, limit: 20_000, order: 'asc', withTotal: false, ...(after ? { after } : {}) })
      for (const e of page.events) {
        const expected = csvLine(e)
        if (text.slice(at, at + expected.length) !== expected) expect(text.slice(at, at + expected.length)).toBe(expected)
        at += expected.length
        i++
      }
      if (page.events.length < 20_000) break
      after = page.events.at(-1)?.id
    }
    expect(i).toBe(N)
    expect(at).toBe(text.length)
  }, 120_000)

  it('stops reading the database when the client goes away', async () => {
    const spy = vi.spyOn(t.store, 'queryEvents')
    const res = await t.app.request(`${E}/export?format=ndjson`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    const calls = spy.mock.calls.length
    await new Promise((r) => setTimeout(r, 200))
    expect(spy.mock.calls.length).toBe(calls)
    expect(calls).toBeLessThan(6) // the count and one or two pages, not 40
    spy.mockRestore()
  })
})

describe('export, stats, purge and retention', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  let store: AuditStore
  const seeded = seedEvents(1500, { now: NOW, days: 120, seed: 9 })
  const tricky: EventRow[] = ['=1+1', '+SUM(A1)', '-2+3', '@cmd', '\tTAB', '\rCR', 'plain, with "quotes"\nand a newline', 'ünïcødé ✓'].map(
    (message, i) => trickyEvent(i, NOW, { message, operator: i === 3 ? '=HYPERLINK("http://x")' : 'ana@example.com', extra_info: { note: message } }),
  )

  beforeAll(async () => {
    store = await openPgliteStore({ dataDir: 'memory://' })
    await store.insertEvents(seeded)
    await store.insertEvents(tricky)
    t = await testApp({ store })
  }, 60_000)
  afterAll(() => t.close())

  it('neutralises formula cells and still reads back the text', async () => {
    const res = await t.call(`${E}/export?operation_type=tricky_export&order=asc`)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    const rows = Papa.parse<Record<string, string>>(res.text, { header: true, skipEmptyLines: true }).data
    const byMsg = Object.fromEntries(rows.map((r) => [r.id, r]))
    for (const e of tricky) {
      const got = byMsg[e.id] as Record<string, string>
      const dangerous = /^[=+\-@\t\r]/.test(e.message as string)
      expect(got.message).toBe(dangerous ? `'${e.message}` : e.message)
    }
    expect(byMsg[tricky[3]!.id]!.operator).toBe(`'=HYPERLINK("http://x")`)
    expect(res.text).not.toMatch(/(^|,)=1\+1/m)
  })

  it('names the file after the range and says how many rows follow', async () => {
    const res = await t.call(`${E}/export?start_date=2026-11-01&end_date=2026-11-20T00:00:00Z`)
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="audit-events_2026-11-01T00-00-00Z_2026-11-20T00-00-00Z.csv"')
    const n = referenceFilter(seeded, { start_date: '2026-11-01T00:00:00.000Z', end_date: '2026-11-20T00:00:00.000Z' }).length
    expect(res.headers.get('x-total-count')).toBe(String(n))
    expect(Papa.parse(res.text, { skipEmptyLines: true }).data).toHaveLength(n + 1)
  })

  it('names the file after the filters too, and starts a CSV with a BOM when asked', async () => {
    // the bytes: Response.text() would drop a BOM
    const bytes = async (q: string) => {
      const res = await t.app.request(`${E}/export?${q}`, { headers: { authorization: `Bearer ${KEYS.admin}` } })
      return { res, head: Buffer.from(await res.arrayBuffer()).subarray(0, 6) }
    }
    const bom = await bytes('start_date=2026-11-01&source=frontend,api-service&extra.symbol=AAPL&bom=true')
    expect(bom.res.headers.get('content-disposition')).toBe('attachment; filename="audit-events_2026-11-01T00-00-00Z_now_source-frontend+api-service_symbol-AAPL.csv"')
    const BOM = Buffer.from([0xef, 0xbb, 0xbf])
    expect(bom.head.subarray(0, 3)).toEqual(BOM)
    expect(bom.head.subarray(3).toString()).toMatch(/^"?id/)
    expect((await bytes('source=frontend')).head.toString()).toMatch(/^"?id/)
    expect((await bytes('format=ndjson&source=frontend&bom=true')).head[0]).toBe('{'.charCodeAt(0))
  })

  it('NDJSON lines parse back to the same events', async () => {
    const res = await t.call(`${E}/export?format=ndjson&source=frontend&order=asc`)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent)
    const page = await t.call(`${E}?source=frontend&order=asc&limit=1000`)
    expect(lines).toEqual(page.json.events)
    expect(lines.length).toBe(page.json.total)
  })

  it('refuses an export past AUDIT_EXPORT_MAX_ROWS with the number that matched', async () => {
    const { createApp } = await import('../apps/api/src/app.ts')
    const { apiKey } = await import('../apps/api/src/auth.ts')
    const small = createApp({ store, audit: t.audit, keys: [apiKey('read', KEYS.read)], exportMaxRows: 100 })
    const res = await small.request(`${E}/export`, { headers: { authorization: `Bearer ${KEYS.read}` } })
    expect(res.status).toBe(422)
    const body = (await res.json()) as { detail: { msg: string; type: string }[] }
    expect(body.detail[0]).toMatchObject({ type: 'too_many_rows', msg: expect.stringContaining(`${seeded.length + tricky.length} events match; at most 100`) })
  })

  it('stats equal independent counts, buckets follow the range, and group_by extra works', async () => {
    const f = { start_date: '2026-10-01T00:00:00.000Z', result: ['failure' as const, 'warning' as const] }
    const rows = referenceFilter([...seeded, ...tricky], f)
    const r = await t.call(`/api/v1/audit/stats?start_date=2026-10-01T00:00:00Z&result=failure,warning&group_by=extra.channel_id`)
    expect(r.status).toBe(200)
    expect(r.json.total).toBe(rows.length)
    const count = (k: 'result' | 'operation_type' | 'source' | 'severity') => rows.reduce<Record<string, number>>((a, e) => ({ ...a, [e[k]]: (a[e[k]] ?? 0) + 1 }), {})
    expect(r.json.by_result).toEqual(count('result'))
    expect(r.json.by_operation_type).toEqual(count('operation_type'))
    expect(r.json.by_source).toEqual(count('source'))
    expect(r.json.by_severity).toEqual(count('severity'))
    expect(r.json.histogram.bucket).toBe('day')
    const sum = r.json.histogram.points.reduce((n: number, p: { success: number; failure: number; warning: number }) => n + p.success + p.failure + p.warning, 0)
    expect(sum).toBe(r.json.total)
    const channels = rows.reduce<Record<string, number>>((a, e) => ({ ...a, [String(e.extra_info?.channel_id)]: (a[String(e.extra_info?.channel_id)] ?? 0) + 1 }), {})
    expect(Object.fromEntries(r.json.groups.map((g: { value: string; count: number }) => [g.value, g.count]))).toEqual(channels)

    const short = await t.call(`/api/v1/audit/stats?start_date=2026-11-19T00:00:00Z&end_date=2026-11-20T12:00:00Z`)
    expect(short.json.histogram.bucket).toBe('hour')
    expect((await t.call('/api/v1/audit/stats?group_by=channel_id')).status).toBe(422)
    expect((await t.call('/api/v1/audit/stats', { key: 'ingest' })).status).toBe(403)
  })

  describe('DELETE /events', () => {
    const range = 'start_date=2026-01-01T00:00:00Z&end_date=2026-12-31T00:00:00Z&source=frontend'
    // refused requests are themselves recorded (access_denied): count the rows a purge would touch
    const total = async (q = 'source=frontend') => {
      await t.audit.flush()
      return (await t.call(`${E}?${q}&limit=1`)).json.total as number
    }

    it('needs confirm=true and an admin key; refused requests delete nothing', async () => {
      const before = await total()
      const noConfirm = await t.call(`${E}?${range}`, { method: 'DELETE' })
      expect(noConfirm.status).toBe(422)
      expect(noConfirm.json.detail[0].loc).toEqual(['query', 'confirm'])
      const noDates = await t.call(`${E}?source=frontend&confirm=true`, { method: 'DELETE' })
      expect(noDates.status).toBe(422)
      expect(noDates.json.detail.map((d: { loc: string[] }) => d.loc[1]).sort()).toEqual(['end_date', 'start_date'])
      expect((await t.call(`${E}?${range}&confirm=true`, { method: 'DELETE', key: 'read' })).status).toBe(403)
      expect((await t.call(`${E}?${range}&confirm=true`, { method: 'DELETE', key: 'ingest' })).status).toBe(403)
      expect(await total()).toBe(before)
    })

    it('deletes exactly the matching events and records who did it', async () => {
      const matching = referenceFilter([...seeded, ...tricky], { start_date: '2026-01-01T00:00:00.000Z', end_date: '2026-12-31T00:00:00.000Z', source: ['frontend'] })
      const before = await total('source=frontend,api-service')
      const r = await t.call(`${E}?${range}&confirm=true`, { method: 'DELETE' })
      expect(r).toMatchObject({ status: 200, json: { deleted: matching.length } })
      expect(await total('source=frontend,api-service')).toBe(before - matching.length)
      expect(await total()).toBe(referenceFilter([...seeded, ...tricky], { source: ['frontend'] }).length - matching.length)
      const log = await t.call(`${E}?operation_type=audit_purge`)
      expect(log.json.events[0]).toMatchObject({
        result: 'warning',
        severity: 'warning',
        operator: 'admin-key',
        extra_info: { deleted: matching.length, filters: { source: ['frontend'], start_date: '2026-01-01T00:00:00.000Z' } },
      })
    })
  })
})

describe('retention by severity', () => {
  const now = Date.parse('2026-11-20T03:00:00.000Z')
  const day = 86_400_000
  // for each severity, events 1, 6, 8, 29, 31, 59, 61, 89, 91 and 400 days old
  const ages = [1, 6, 8, 29, 31, 59, 61, 89, 91, 400]
  const rows: EventRow[] = (['debug', 'info', 'warning', 'error', 'critical'] as const).flatMap((severity, s) =>
    ages.map(
      (age, i) =>
        ({
          id: `01900000-0000-7000-8000-0000000${s}${String(i).padStart(4, '0')}`,
          timestamp: new Date(now - age * day).toISOString(),
          source: 'system',
          operation_type: 'aging',
          result: 'success',
          severity,
        }),
    ),
  )
  const keep = { debug: 7, info: 30, warning: 60, error: 90, critical: Infinity }

  it('deletes exactly the expired rows of each severity, keeps every critical one, and records the run', async () => {
    const t = await testApp()
    await t.store.insertEvents(rows)
    const report = await runRetention(t.store, t.audit, parseRetention('debug:7,info:30,warning:60,error:90,critical:0'), now)
    const expected = Object.fromEntries(Object.entries(keep).map(([s, d]) => [s, ages.filter((a) => a > d).length]))
    expect(report.deleted).toEqual(expected)
    expect(report.total).toBe(Object.values(expected).reduce((a, b) => a + b, 0))
    await t.audit.flush()
    const left = await t.call(`${E}?operation_type=aging&limit=1000`)
    const survivors = left.json.events.map((e: AuditEvent) => `${e.severity}:${Math.round((now - Date.parse(e.timestamp)) / day)}`).sort()
    const expectSurvivors = rows.filter((r) => (now - Date.parse(r.timestamp)) / day <= keep[r.severity]).map((r) => `${r.severity}:${Math.round((now - Date.parse(r.timestamp)) / day)}`).sort()
    expect(survivors).toEqual(expectSurvivors)
    expect(survivors.filter((s: string) => s.startsWith('critical'))).toHaveLength(ages.length)
    const run = await t.call(`${E}?operation_type=audit_retention`)
    expect(run.json.events[0]).toMatchObject({ source: 'system', result: 'success', extra_info: { deleted: expected, total: report.total, duration_ms: expect.any(Number) } })
    await t.close()
  })

  it('POST /retention/run: a wrong CRON_SECRET gets 401 and deletes nothing; the right one runs', async () => {
    const { createApp } = await import('../apps/api/src/app.ts')
    const t = await testApp()
    await t.store.insertEvents(rows)
    const app = createApp({ store: t.store, audit: t.audit, keys: [], cronSecret: 'cron-secret-0123456789', retention: parseRetention('debug:7,info:30,warning:60,error:90,critical:0') })
    const wrong = await app.request('/api/v1/audit/retention/run', { method: 'POST', headers: { authorization: 'Bearer nope-nope-nope-nope' } })
    expect(wrong.status).toBe(401)
    expect((await t.store.queryEvents({ filters: { operation_type: ['aging'] }, limit: 1 })).total).toBe(rows.length)
    const right = await app.request('/api/v1/audit/retention/run', { method: 'POST', headers: { authorization: 'Bearer cron-secret-0123456789' } })
    expect(right.status).toBe(200)
    const body = (await right.json()) as { total: number; deleted: Record<string, number>; duration_ms: number }
    expect(body.total).toBeGreaterThan(0)
    expect(body.deleted.critical).toBe(0)
    const admin = await t.call('/api/v1/audit/retention/run', { method: 'POST', body: {} })
    expect(admin.status).toBe(200)
    await t.close()
  })

  it('the schedule is HH:MM or HH:MM:SS (UTC), or off', () => {
    expect(parseSchedule('03:00')).toEqual({ hour: 3, minute: 0 })
    expect(parseSchedule('23:59:30')).toEqual({ hour: 23, minute: 59, second: 30 })
    expect(parseSchedule('off')).toBeNull()
    for (const bad of ['3', '24:00', '03:60', '03:00:60', '03:00:5']) expect(() => parseSchedule(bad)).toThrow(/HH:MM or HH:MM:SS/)
    const at = Date.parse('2026-11-20T02:59:00.000Z')
    expect(msUntil({ hour: 2, minute: 59, second: 15 }, at)).toBe(15_000)
    expect(msUntil({ hour: 2, minute: 59 }, at)).toBe(86_400_000)
  })

  it('the daily schedule fires at its time (fake timers)', async () => {
    vi.useFakeTimers()
    try {
      vi.setSystemTime(Date.parse('2026-11-20T02:59:00.000Z'))
      expect(msUntil({ hour: 3, minute: 0 }, Date.now())).toBe(60_000)
      const job = vi.fn(async () => {})
      const stop = scheduleDaily({ hour: 3, minute: 0 }, job, () => {})
      await vi.advanceTimersByTimeAsync(59_999)
      expect(job).not.toHaveBeenCalled()
      await vi.advanceTimersByTimeAsync(1)
      expect(job).toHaveBeenCalledTimes(1)
      await vi.advanceTimersByTimeAsync(86_400_000)
      expect(job).toHaveBeenCalledTimes(2)
      stop()
      await vi.advanceTimersByTimeAsync(2 * 86_400_000)
      expect(job).toHaveBeenCalledTimes(2)
    } finally {
      vi.useRealTimers()
    }
  })
})
