/**
 * The events page in a real Chromium against the real server and seeded data.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import Papa from 'papaparse'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventRow } from '@audit/core'
import { mulberry32, referenceFilter, referenceSort, seedEvents } from '@audit/core/testing'
import { ADMIN, READ, buildWeb, launchChromium, screenshotDir, startApp } from './harness.ts'

const DAY = 86_400_000
const now = Date.now()
const rnd = mulberry32(5)
// 30 days of events; none within 10 minutes of the 7-day boundary, so the test cannot race it
const seeded: EventRow[] = seedEvents(900, { now: now - 60_000, days: 30, seed: 77 })
  .filter((r) => Math.abs(Date.parse(r.timestamp) - (now - 7 * DAY)) > 10 * 60_000)
  .map((r) => ({ ...r, extra_info: { ...r.extra_info, duration_ms: Math.round(rnd() * 2500 * 10) / 10 } }))
const XSS = { ...seeded[0]!, id: '01900000-0000-7000-8000-00000000beef', timestamp: new Date(now - 3_600_000).toISOString(), message: '<img src=x onerror=alert(1)>', operation_type: 'xss_probe' } as EventRow
const all = [...seeded, XSS]
const lastWeek = (f = {}) => referenceSort(referenceFilter(all, { start_date: new Date(now - 7 * DAY).toISOString(), ...f }))

let browser: Browser
let dist: string
let server: Awaited<ReturnType<typeof startApp>>
let page: Page
let shots: string
const dialogs: string[] = []

beforeAll(async () => {
  dist = await buildWeb()
  shots = await screenshotDir()
  server = await startApp(dist)
  await server.store.insertEvents(all)
  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, timezoneId: 'Europe/Paris', locale: 'en-GB' })
  page = await context.newPage()
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function open(query = '', key = ADMIN) {
  await page.goto(`${server.url}${query}#token=${key}`)
  await page.waitForSelector('table.events tbody tr[data-id]')
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'))
}
const rowIds = () => page.$$eval('table.events tbody tr[data-id]', (rows) => rows.map((r) => r.getAttribute('data-id')))
const total = async () => Number((await page.textContent('[data-testid="total"]'))?.replace(/\D/g, ''))
async function settle() {
  await page.waitForFunction(() => !document.querySelector('table.events.stale') && !document.querySelector('[aria-busy="true"]'))
}

describe('events page in Chromium', () => {
  it('shows exactly the events of the last 7 days by default, newest first', async () => {
    await open('?size=100')
    const expected = lastWeek()
    expect(expected.length).toBeLessThan(all.length)
    expect(await total()).toBe(expected.length)
    expect(await rowIds()).toEqual(expected.slice(0, 100).map((e) => e.id))
    const older = all.filter((e) => Date.parse(e.timestamp) < now - 7 * DAY)
    const onPage = new Set(await rowIds())
    expect(older.some((e) => onPage.has(e.id))).toBe(false)
    // the key left the URL
    expect(page.url()).not.toContain('token')
    // the trail's status in the header (nothing signs in this harness)
    expect(await (await page.waitForSelector('[data-testid="trail-status"].muted:has-text("Trail intact")')).textContent()).toMatch(/^Trail intact · checkpoint #\d+ \(unsigned\)$/)
    await page.screenshot({ path: path.join(shots, 'events-page.png') })
  })

  it('each filter narrows to exactly the expected rows and the URL round-trips', async () => {
    await open('?size=100')
    await page.selectOption('label:has-text("Operation type") select', 'scan_process')
    await settle()
    await page.selectOption('label:has-text("Result") select', 'failure')
    await settle()
    let expected = lastWeek({ operation_type: ['scan_process'], result: ['failure'] })
    expect(await total()).toBe(expected.length)
    expect(await rowIds()).toEqual(expected.map((e) => e.id))
    expect(page.url()).toContain('operation_type=scan_process')
    expect(page.url()).toContain('result=failure')

    await page.fill('label:has-text("Search") input', 'SPECIAL')
    await page.waitForURL(/q=SPECIAL/)
    await settle()
    expected = lastWeek({ operation_type: ['scan_process'], result: ['failure'], q: 'special' })
    expect(await total()).toBe(expected.length)

    await page.reload()
    await page.waitForSelector('[data-testid="total"]')
    await settle()
    expect(await total()).toBe(expected.length)
    expect(await page.inputValue('label:has-text("Search") input')).toBe('SPECIAL')

    await page.goBack()
    await settle()
    expect(await total()).toBe(lastWeek({ operation_type: ['scan_process'], result: ['failure'] }).length)

    await page.click('button:has-text("Reset")')
    await settle()
    expect(await total()).toBe(lastWeek().length)

    for (const [label, value, filter] of [
      ['Source', 'frontend', { source: ['frontend'] }],
      ['Severity', 'critical', { severity: ['critical'] }],
    ] as const) {
      await page.selectOption(`label:has-text("${label}") select`, value)
      await settle()
      const want = lastWeek(filter)
      expect(await total()).toBe(want.length)
      expect(await rowIds()).toEqual(want.slice(0, 100).map((e) => e.id))
      await page.selectOption(`label:has-text("${label}") select`, '')
      await settle()
    }
    await page.fill('label:has-text("Operator") input', 'bo@example.com')
    await page.waitForURL(/operator=bo/)
    await settle()
    expect(await total()).toBe(lastWeek({ operator: ['bo@example.com'] }).length)

    await page.click('button:has-text("30 d")')
    await settle()
    expect(page.url()).toContain('range=30d')
    expect(await total()).toBe(referenceFilter(all, { start_date: new Date(now - 30 * DAY).toISOString(), operator: ['bo@example.com'] }).length)
    await page.screenshot({ path: path.join(shots, 'filtered-view.png') })
  })

  it('pages with previous/next and "x–y of N", keeping the rows while the next page loads', async () => {
    await open('?size=25')
    const expected = lastWeek()
    expect(await page.textContent('.range-label')).toBe(`1–25 of ${expected.length}`)
    await page.click('button:has-text("Next")')
    await settle()
    expect(await rowIds()).toEqual(expected.slice(25, 50).map((e) => e.id))
    expect(await page.textContent('.range-label')).toBe(`26–50 of ${expected.length}`)
    expect(page.url()).toContain('page=2')
    await page.click('button:has-text("Previous")')
    await settle()
    expect(await rowIds()).toEqual(expected.slice(0, 25).map((e) => e.id))
  })

  it('opens the detail view from a row and by its URL, and closes with Escape', async () => {
    await open()
    const first = lastWeek()[0]!
    await page.click(`tr[data-id="${first.id}"] .time-button`)
    await page.waitForSelector('dialog.detail[open]')
    expect(page.url()).toContain(`event=${first.id}`)
    expect(await page.textContent('dialog.detail')).toContain(first.id)
    expect(await page.textContent('dialog.detail pre.json')).toContain('"records_count"')
    await page.keyboard.press('Escape')
    await page.waitForSelector('dialog.detail', { state: 'detached' })
    expect(page.url()).not.toContain('event=')

    const old = all.find((e) => Date.parse(e.timestamp) < now - 20 * DAY)!
    await page.goto(`${server.url}?event=${old.id}`)
    await page.waitForSelector('dialog.detail[open] pre.json')
    expect(await page.textContent('dialog.detail')).toContain(old.id)
    expect(await page.textContent('dialog.detail')).toContain(old.operation_type)
    await page.screenshot({ path: path.join(shots, 'detail-view.png') })
    await page.keyboard.press('Escape')
  })

  it('exports a CSV whose rows, parsed with papaparse, are exactly the filtered set', async () => {
    await open('?result=warning&source=api-service,system')
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export CSV")')])
    expect(download.suggestedFilename()).toMatch(/^audit-events_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_now\.csv$/)
    const csv = await readFile(await download.path(), 'utf8')
    const rows = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true }).data
    const expected = lastWeek({ result: ['warning'], source: ['api-service', 'system'] })
    expect(rows.map((r) => r.id)).toEqual(expected.map((e) => e.id))
    expect(rows[0]).toMatchObject({ result: 'warning', operation_type: expected[0]!.operation_type })
  })

  it('renders a hostile message as text and runs nothing', async () => {
    await open('?operation_type=xss_probe')
    const cell = await page.textContent(`tr[data-id="${XSS.id}"] td.msg`)
    expect(cell).toBe('<img src=x onerror=alert(1)>')
    expect(await page.$$('table.events img')).toHaveLength(0)
    await page.click(`tr[data-id="${XSS.id}"] .time-button`)
    await page.waitForSelector('dialog.detail[open]')
    expect(await page.$$('dialog.detail img')).toHaveLength(0)
    expect(dialogs).toEqual([])
  })

  it('asks for a key on 401, and accepts one typed in', async () => {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.goto(server.url)
    await p.waitForSelector('form[aria-labelledby="signin-title"]')
    await p.fill('label:has-text("API key") input', 'not-a-valid-key-at-all')
    await p.click('button:has-text("Sign in")')
    await p.waitForSelector('text=That key was not accepted')
    await p.fill('label:has-text("API key") input', READ)
    await p.click('button:has-text("Sign in")')
    await p.waitForSelector('table.events tbody tr[data-id]')
    expect(await p.textContent('.who')).toContain('e2e-reader · read')
    expect(await p.$('button:has-text("Delete…")')).toBeNull()
    await ctx.close()
  })

  it('auto-refresh picks up new events every 30 s and says when it last updated', async () => {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.clock.install()
    await p.goto(`${server.url}?operation_type=late_arrival#token=${READ}`)
    await p.waitForSelector('.empty-state')
    await p.check('label:has-text("Auto-refresh") input')
    const before = await p.textContent('.topbar-right')
    await server.store.insertEvents([{ ...XSS, id: '01900000-0000-7000-8000-00000000cafe', operation_type: 'late_arrival', message: 'arrived later' }])
    await p.clock.fastForward(31_000)
    await p.waitForSelector('tr[data-id="01900000-0000-7000-8000-00000000cafe"]')
    expect(await p.textContent('[data-testid="total"]')).toBe('1')
    expect(await p.textContent('.topbar-right')).toMatch(/updated \d{2}:\d{2}:\d{2}/)
    expect(await p.textContent('.topbar-right')).not.toBe(before)
    await ctx.close()
  })

  it('shows an error state when the API is down, and recovers on Retry', async () => {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.route('**/api/v1/audit/events?**', (r) => r.abort())
    await p.goto(`${server.url}#token=${READ}`)
    await p.waitForSelector('.error-state', { timeout: 20_000 })
    expect(await p.textContent('.error-state')).toContain('Could not load events')
    await p.unroute('**/api/v1/audit/events?**')
    await p.click('.error-state button:has-text("Retry")')
    await p.waitForSelector('table.events tbody tr[data-id]')
    await ctx.close()
  })

  it('shows the empty state with a hint to widen the range', async () => {
    await page.goto(`${server.url}?range=1h&operation_type=none_such#token=${ADMIN}`)
    await page.waitForSelector('.empty-state')
    expect(await page.textContent('.empty-state')).toContain('No events in this range')
    await page.click('button:has-text("Show the last 30 days")')
    await page.waitForURL(/range=30d/)
  })

  it('past AUDIT_COUNT_CAP shows the estimated total with ≈ and pages by has_more', async () => {
    const capped = await startApp(dist, { countCap: 50 })
    try {
      await capped.store.insertEvents(all)
      const expected = lastWeek()
      await page.goto(`${capped.url}?size=100#token=${ADMIN}`)
      await page.waitForSelector('table.events tbody tr[data-id]')
      await settle()
      expect(await page.textContent('[data-testid="total"]')).toMatch(/^≈ [\d,]+$/)
      expect(await page.getAttribute('[data-testid="total"]', 'title')).toMatch(/estimated/i)
      expect(await page.textContent('.range-label')).toMatch(/^1–100 of ≈ [\d,]+$/)
      expect(await page.textContent('button:has-text("Export CSV")')).toMatch(/≈/)
      const lastPage = Math.ceil(expected.length / 100)
      await page.goto(`${capped.url}?size=100&page=${lastPage}#token=${ADMIN}`)
      await page.waitForSelector('table.events tbody tr[data-id]')
      await settle()
      expect(await rowIds()).toEqual(expected.slice((lastPage - 1) * 100).map((e) => e.id))
      expect(await page.isDisabled('button:has-text("Next")')).toBe(true)
      expect(await page.isDisabled('button:has-text("Previous")')).toBe(false)
    } finally {
      await capped.close()
    }
  })
})
