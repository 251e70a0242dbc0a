/**
 * The events page in a real Chromium against the real server and seeded data.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
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
// 29 days of events, none in the hour after the 7-day boundary: the page's windows
// (7 and 30 days back from the clock) move forward while the file runs, and an
// event they passed would leave the page's counts while still in `lastWeek()`.
// So no window edge meets an event for the first hour, however slow the machine.
const seeded: EventRow[] = seedEvents(900, { now: now - 60_000, days: 29, seed: 77 })
  .filter((r) => { const t = Date.parse(r.timestamp) - (now - 7 * DAY); return t < -60_000 || t > 60 * 60_000 })
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
/**
 * Waits until the page shows the current view: no stale rows, no table or
 * summary still catching up. The page writes a filter to the URL only after
 * rendering it, so a waitForURL followed by settle() sees the new filter's
 * rows, never the previous ones.
 */
async function settle() {
  await page.waitForFunction(() => !document.querySelector('table.events.stale') && !document.querySelector('[aria-busy="true"]'))
}

describe("events page in Chromium", () => {
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

  it('filters by every API field, exact or contains, with counts in the dropdowns, and by a click on a cell or a detail field', async () => {
    await open('?size=100')
    // the dropdowns count each value in the range
    const week = lastWeek()
    const sources = await page.$$eval('label:has-text("Source") select option', (os) => os.map((o) => o.textContent))
    for (const source of new Set(week.map((e) => e.source))) expect(sources).toContain(`${source} (${week.filter((e) => e.source === source).length})`)
    // the fields behind "More filters"
    await page.click('summary:has-text("More filters")')
    await page.fill('label:has-text("Tenant") input', 't1')
    await page.waitForURL(/tenant_id=t1/)
    await settle()
    expect(await total()).toBe(lastWeek({ tenant_id: ['t1'] }).length)
    await page.fill('label:has-text("Tenant") input', '')
    await page.waitForURL((u) => !u.search.includes('tenant_id'))
    await settle()
    // operator "contains" is the API's *part*
    await page.selectOption('select[aria-label="Operator matches"]', 'contains')
    await page.fill('label:has-text("Operator") input', 'bo')
    await page.waitForURL(/operator=%5Cbo|operator=\*bo\*/)
    await settle()
    expect(await total()).toBe(lastWeek({ operator: ['*bo*'] }).length)
    expect(await total()).toBeGreaterThan(lastWeek({ operator: ['bo'] }).length)
    await page.click('button:has-text("Reset")')
    await settle()
    // a cell: leave out a source
    const first = week[0]!
    await page.hover(`tr[data-id="${first.id}"] td.col-source`)
    await page.click(`tr[data-id="${first.id}"] td.col-source button[aria-label="Not source ${first.source}"]`)
    await page.waitForURL(new RegExp(`not.source=${first.source}`))
    await settle()
    expect(await total()).toBe(lastWeek({ not: { source: [first.source] } }).length)
    expect(await page.textContent('.chips')).toContain(`not source = ${first.source}`)
    await page.click('.chips button[aria-label^="Remove the filter"]')
    await settle()
    expect(await total()).toBe(week.length)
    // the detail view: only this extra_info value, then not this operation type
    await page.click(`tr[data-id="${first.id}"] .time-button`)
    await page.waitForSelector('dialog.detail[open] .extra-fields')
    const symbol = String(first.extra_info?.symbol)
    await page.click(`dialog.detail button[aria-label="Only extra.symbol ${symbol}"]`)
    await page.waitForSelector('dialog.detail', { state: 'detached' })
    await settle()
    expect(page.url()).toContain(`extra.symbol=${symbol}`)
    expect(await total()).toBe(lastWeek({ extra: { symbol } }).length)
    const second = lastWeek({ extra: { symbol } })[0]!
    await page.click(`tr[data-id="${second.id}"] .time-button`)
    await page.click(`dialog.detail button[aria-label="Not operation_type ${second.operation_type}"]`)
    await page.waitForSelector('dialog.detail', { state: 'detached' })
    await settle()
    expect(await total()).toBe(lastWeek({ extra: { symbol }, not: { operation_type: [second.operation_type] } }).length)
    expect(await rowIds()).toEqual(lastWeek({ extra: { symbol }, not: { operation_type: [second.operation_type] } }).slice(0, 100).map((e) => e.id))
  })

  it('detail view: collapsible JSON keeping line breaks, previous/next and j/k, copy as JSON and as curl, same-field links; / searches', async () => {
    // an event outside every range the other tests count, opened by its URL
    const odd = { ...seeded[1]!, id: '01900000-0000-7000-8000-0000000f00d5', timestamp: new Date(now - 60 * DAY).toISOString(), extra_info: { note: 'line one\nline two', nested: { list: [1, 2] } } } as EventRow
    await server.store.insertEvents([odd])
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') })
    await page.goto(`${server.url}?size=100&event=${odd.id}#token=${ADMIN}`)
    await page.waitForSelector('dialog.detail[open] .json')
    expect(await page.$eval('dialog.detail .json', (el) => (el as HTMLElement).innerText)).toContain('"line one\nline two"')
    expect(await page.$$eval('dialog.detail .json details[open]', (d) => d.length)).toBe(3)
    await page.click('dialog.detail .json details details > summary')
    expect(await page.$$eval('dialog.detail .json details[open]', (d) => d.length)).toBe(2)
    await page.click('dialog.detail button:has-text("Copy as JSON")')
    expect(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))).toMatchObject({ id: odd.id, extra_info: odd.extra_info })
    await page.click('dialog.detail button:has-text("Copy as curl")')
    const curl = await page.evaluate(() => navigator.clipboard.readText())
    // async: the server answering it runs in this process
    const fetched = await promisify(execFile)('sh', ['-c', `${curl} --silent --fail --max-time 10`], { env: { PATH: process.env.PATH, AUDIT_KEY: READ }, encoding: 'utf8' })
    expect(JSON.parse(fetched.stdout)).toMatchObject({ id: odd.id })
    await page.keyboard.press('Escape')
    await page.waitForSelector('dialog.detail', { state: 'detached' })
    await settle()

    const week = lastWeek()
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('search')
    await page.evaluate(() => (document.activeElement as HTMLElement).blur())
    await page.keyboard.press('j')
    await page.waitForSelector(`dialog.detail[open] >> text=${week[0]!.id}`)
    await page.keyboard.press('j')
    await page.waitForSelector(`dialog.detail[open] >> text=${week[1]!.id}`)
    await page.keyboard.press('k')
    await page.waitForSelector(`dialog.detail[open] >> text=${week[0]!.id}`)
    await page.click('dialog.detail button:has-text("Next →")')
    await page.waitForSelector(`dialog.detail[open] >> text=${week[1]!.id}`)
    expect(page.url()).toContain(`event=${week[1]!.id}`)
    expect(await page.isDisabled('dialog.detail button:has-text("← Previous")')).toBe(false)

    const withRequest = week.find((e) => e.request_id)!
    await page.goto(`${server.url}?size=100&event=${withRequest.id}`)
    await page.click('dialog.detail a:has-text("Same request id")')
    await page.waitForURL(/request_id=/)
    await page.waitForSelector('table.events tbody tr[data-id]')
    await settle()
    expect(await rowIds()).toEqual(lastWeek({ request_id: [withRequest.request_id!] }).slice(0, 100).map((e) => e.id))
  })

  it('has no axe-core violations in dark mode, whose colours are the dark ones', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' })
    const p = await ctx.newPage()
    const check = async (state: string) => expect(await axeViolations(p), state).toEqual([])
    await p.goto(`${server.url}?size=25&not.source=frontend#token=${ADMIN}`)
    await p.waitForSelector('table.events tbody tr[data-id]')
    await p.waitForSelector('.histogram svg')
    expect(await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe('rgb(15, 17, 21)')
    await p.click('summary:has-text("More filters")')
    await check('dark: table, filters, a chip')
    await p.click('table.events tbody tr[data-id] .time-button')
    await p.waitForSelector('dialog.detail[open] .json')
    await check('dark: detail')
    await p.keyboard.press('Escape')
    await p.click('button:has-text("Delete…")')
    await p.waitForSelector('[data-testid="purge-count"]')
    await check('dark: delete dialog')
    await p.click('dialog button:has-text("Cancel")')
    await p.goto(`${server.url}?operation_type=none_such`)
    await p.waitForSelector('.empty-state')
    await check('dark: empty')
    await ctx.close()
  })

  it('resizes a column by dragging its header edge or with the arrow keys, keeps the width across a reload, and resets it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const p = await ctx.newPage()
    await p.goto(`${server.url}#token=${ADMIN}`)
    await p.waitForSelector('table.events tbody tr[data-id]')
    const width = (sel: string) => p.$eval(sel, (el) => el.getBoundingClientRect().width)
    const cell = 'table.events tbody tr[data-id] td.col-operator'
    const handle = p.locator('[role="separator"][aria-label="Resize Operator column"]')
    const before = await width(cell)
    const message = await width('table.events tbody tr[data-id] td.col-message')
    expect(message - 80).toBeGreaterThanOrEqual(256) // room to grow without squeezing Message under its minimum
    // drag the handle 80 px to the right
    const box = (await handle.boundingBox())!
    await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await p.mouse.down()
    await p.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2, { steps: 4 })
    await p.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2, { steps: 4 })
    await p.mouse.up()
    const dragged = await width(cell)
    expect(dragged).toBeGreaterThan(before + 78)
    expect(dragged).toBeLessThan(before + 82)
    expect(await width('table.events tbody tr[data-id] td.col-message')).toBeGreaterThanOrEqual(256)
    // kept with the other preferences
    await p.reload()
    await p.waitForSelector('table.events tbody tr[data-id]')
    expect(Math.abs((await width(cell)) - dragged)).toBeLessThan(1)
    // the keyboard: each arrow press is a 16 px step
    await handle.focus()
    await p.keyboard.press('ArrowLeft')
    await p.keyboard.press('ArrowLeft')
    expect(Math.abs((await width(cell)) - (dragged - 32))).toBeLessThan(1.5)
    await p.keyboard.press('ArrowRight')
    expect(Math.abs((await width(cell)) - (dragged - 16))).toBeLessThan(1.5)
    expect(await handle.getAttribute('aria-valuenow')).toBe(String(Math.round(await width(cell))))
    // Reset widths in the Columns menu
    await p.click('summary:has-text("Columns")')
    await p.click('button:has-text("Reset widths")')
    expect(Math.abs((await width(cell)) - before)).toBeLessThan(1)
    expect(await p.isDisabled('button:has-text("Reset widths")')).toBe(true)
    await p.reload()
    await p.waitForSelector('table.events tbody tr[data-id]')
    expect(Math.abs((await width(cell)) - before)).toBeLessThan(1)
    // no handles among the cards
    await p.setViewportSize({ width: 390, height: 844 })
    expect(await p.$$eval('.col-resize', (hs) => hs.filter((h) => getComputedStyle(h).display !== 'none').length)).toBe(0)
    await ctx.close()
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
    expect(await page.textContent('dialog.detail .json')).toContain('"records_count"')
    await page.keyboard.press('Escape')
    await page.waitForSelector('dialog.detail', { state: 'detached' })
    expect(page.url()).not.toContain('event=')

    const old = all.find((e) => Date.parse(e.timestamp) < now - 20 * DAY)!
    await page.goto(`${server.url}?event=${old.id}`)
    await page.waitForSelector('dialog.detail[open] .json')
    expect(await page.textContent('dialog.detail')).toContain(old.id)
    expect(await page.textContent('dialog.detail')).toContain(old.operation_type)
    await page.screenshot({ path: path.join(shots, 'detail-view.png') })
    await page.keyboard.press('Escape')
  })

  it('exports a CSV whose rows, parsed with papaparse, are exactly the filtered set, named after range and filters', async () => {
    const ctx = await browser.newContext({ acceptDownloads: true })
    // the download path of browsers without the File System Access API
    await ctx.addInitScript(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker)
    const p = await ctx.newPage()
    await p.goto(`${server.url}?result=warning&source=api-service,system#token=${ADMIN}`)
    await p.click('button:has-text("Export…")')
    const expected = lastWeek({ result: ['warning'], source: ['api-service', 'system'] })
    await p.waitForSelector('[data-testid="export-count"]')
    expect(await p.textContent('[data-testid="export-count"]')).toBe(`${expected.length} events`)
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('dialog button:has-text("Download")')])
    expect(download.suggestedFilename()).toMatch(/^audit-events_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_source-api-service\+system_result-warning\.csv$/)
    const csv = await readFile(await download.path(), 'utf8')
    const rows = Papa.parse<Record<string, string>>(csv, { header: true, skipEmptyLines: true }).data
    expect(rows.map((r) => r.id)).toEqual(expected.map((e) => e.id))
    expect(rows[0]).toMatchObject({ result: 'warning', operation_type: expected[0]!.operation_type })
    await p.waitForSelector(`text=Downloading ${expected.length} events`)
    await ctx.close()
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

  it('past AUDIT_COUNT_CAP shows the exact total from /stats, counts again for Delete, and pages by has_more', async () => {
    const capped = await startApp(dist, { countCap: 50 })
    try {
      await capped.store.insertEvents(all)
      const expected = lastWeek()
      await page.goto(`${capped.url}?size=100#token=${ADMIN}`)
      await page.waitForSelector('table.events tbody tr[data-id]')
      await settle()
      // the estimate gives way to the exact count from /stats
      await page.waitForFunction((n) => document.querySelector('[data-testid="total"]')?.textContent === n, String(expected.length))
      expect(await page.getAttribute('[data-testid="total"]', 'title')).toBeNull()
      expect(await page.textContent('.range-label')).toBe(`1–100 of ${expected.length}`)
      // the Delete dialog counts for itself
      await page.click('button:has-text("Delete…")')
      await page.waitForSelector('[data-testid="purge-count"]')
      expect(await page.textContent('[data-testid="purge-count"]')).toBe(`${expected.length} events`)
      expect(await page.textContent('dialog button.danger')).toBe(`Delete ${expected.length} events`)
      await page.click('dialog button:has-text("Cancel")')
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
    // a second server seeded with 900 events: the slowest test of the file under load
  }, 60_000)
})

/** Contrast ratio (WCAG) of two computed CSS colours `rgb(r, g, b)`. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((x) => {
      const v = Number(x) / 255
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
    }) as [number, number, number]
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl
  }
  const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m) as [number, number]
  return (x + 0.05) / (y + 0.05)
}

describe('layout', () => {
  it('keeps Message readable, Time whole and nothing overlapping at 390, 768, 1024, 1440 and 1920 px', async () => {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'America/New_York' })
    const p = await ctx.newPage()
    for (const width of [390, 768, 1024, 1440, 1920]) {
      await p.setViewportSize({ width, height: 900 })
      await p.goto(`${server.url}#token=${ADMIN}`)
      await p.waitForSelector('table.events tbody tr[data-id]')
      const m = await p.evaluate(() => {
        const visible = (el: Element) => getComputedStyle(el).display !== 'none' && el.getBoundingClientRect().width > 0
        const rect = (el: Element) => el.getBoundingClientRect()
        const overlaps = (a: DOMRect, b: DOMRect) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5
        const clashes: string[] = []
        // siblings in each block of the page never cover each other
        for (const parent of Array.from(document.querySelectorAll('.topbar, .topbar-right, .filters, .fields, .summary, .actions, .pagination, .table-tools, table.events tbody tr'))) {
          const kids = Array.from(parent.children).filter(visible)
          for (let i = 0; i < kids.length; i++)
            for (let j = i + 1; j < kids.length; j++) if (overlaps(rect(kids[i]!), rect(kids[j]!))) clashes.push(`${parent.className}: ${kids[i]!.className} × ${kids[j]!.className}`)
        }
        const row = document.querySelector('table.events tbody tr[data-id]')!
        const msg = row.querySelector('td.col-message')!
        const times = Array.from(document.querySelectorAll('td.col-time'))
        return {
          pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
          messageWidth: rect(msg).width,
          timeClipped: times.filter((t) => t.scrollWidth > t.clientWidth).length,
          headerClipped: Array.from(document.querySelectorAll('table.events th')).filter(() => window.innerWidth >= 700).filter((t) => visible(t) && t.scrollWidth > t.clientWidth).map((t) => t.textContent),
          cards: getComputedStyle(row).display === 'grid',
          clashes,
        }
      })
      expect(m.pageOverflow, `page scrolls sideways at ${width}`).toBeLessThanOrEqual(0)
      expect(m.timeClipped, `time cut at ${width}`).toBe(0)
      expect(m.headerClipped, `header cut at ${width}`).toEqual([])
      expect(m.clashes, `overlap at ${width}`).toEqual([])
      expect(m.messageWidth, `message at ${width}`).toBeGreaterThanOrEqual(width < 700 ? 300 : 240)
      expect(m.cards).toBe(width < 700)
      if (width === 390) await p.screenshot({ path: path.join(shots, 'events-page-390.png') })
    }
    await ctx.close()
  })

  it('keeps primary and destructive buttons legible on hover', async () => {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.goto(server.url)
    const button = p.locator('button:has-text("Sign in")')
    await button.hover()
    await p.waitForTimeout(200) // the transition
    const { color, bg } = await button.evaluate((b) => ({ color: getComputedStyle(b).color, bg: getComputedStyle(b).backgroundColor }))
    expect(contrast(color, bg)).toBeGreaterThanOrEqual(4.5)
    await ctx.close()
  })
})

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's violations on the page as it is now (evaluated over the protocol, so the page's CSP does not stop it). */
async function axeViolations(p: Page): Promise<{ id: string; nodes: string[] }[]> {
  await p.evaluate(await axeSource)
  return p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }))
  })
}

describe('accessibility and robustness', () => {
  it('has no axe-core violations in any state', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const p = await ctx.newPage()
    const check = async (state: string) => expect(await axeViolations(p), state).toEqual([])
    await p.goto(server.url)
    await p.waitForSelector('form[aria-labelledby="signin-title"]')
    await check('sign-in')
    await p.fill('label:has-text("API key") input', 'not-a-valid-key-at-all')
    await p.click('button:has-text("Sign in")')
    await p.waitForSelector('text=That key was not accepted')
    await check('sign-in, key refused')
    await p.goto(`${server.url}?size=25#token=${ADMIN}`)
    await p.waitForSelector('table.events tbody tr[data-id]')
    await p.waitForSelector('.histogram svg')
    await check('table')
    await p.click('table.events tbody tr[data-id] .time-button')
    await p.waitForSelector('dialog.detail[open] .json')
    await check('detail')
    await p.keyboard.press('Escape')
    await p.click('button:has-text("Delete…")')
    await p.waitForSelector('[data-testid="purge-count"]')
    await check('delete dialog')
    await p.click('dialog button:has-text("Cancel")')
    await p.click('button:has-text("Export…")')
    await p.waitForSelector('[data-testid="export-count"]')
    await check('export dialog')
    await p.click('dialog button:has-text("Close")')
    await p.goto(`${server.url}?operation_type=none_such`)
    await p.waitForSelector('.empty-state')
    await check('empty')
    await p.setViewportSize({ width: 390, height: 844 })
    await p.goto(server.url)
    await p.waitForSelector('table.events tbody tr[data-id]')
    await check('cards at 390 px')
    await p.route('**/api/v1/audit/events?**', (r) => r.abort())
    await p.goto(`${server.url}?range=24h`)
    await p.waitForSelector('.error-state', { timeout: 20_000 })
    await check('error')
    await ctx.close()
  })

  it('shows a first-run state with a curl for this server that sends an event', async () => {
    const empty = await startApp(dist)
    try {
      const ctx = await browser.newContext()
      const p = await ctx.newPage()
      await p.goto(`${empty.url}#token=${ADMIN}`)
      await p.waitForSelector('[data-testid="first-run-curl"]')
      expect(await axeViolations(p)).toEqual([])
      const curl = (await p.textContent('[data-testid="first-run-curl"]'))!
      expect(curl).toContain(`'${empty.url}api/v1/audit/events'`)
      // the command works: its body, with the key, records an event
      const body = /-d '(.+)'$/s.exec(curl)![1]!
      const res = await fetch(`${empty.url}api/v1/audit/events`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body })
      expect(res.status).toBe(201)
      await ctx.close()
    } finally {
      await empty.close()
    }
  })

  it('survives bad URL state, keeps the table through a failed refresh, and leaves history alone for dialogs', async () => {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    await p.goto(`${server.url}?start=yesterday#token=${ADMIN}`)
    await p.waitForSelector('table.events tbody tr[data-id]')
    await p.goto(`${server.url}?size=100&page=99999`)
    await p.waitForURL(/page=\d\b/)
    await p.waitForSelector('table.events tbody tr[data-id]')
    // the server's own events (refused keys) count too: the page's total says how many
    const n = Number((await p.textContent('[data-testid="total"]'))?.replace(/\D/g, ''))
    const last = Math.ceil(n / 100)
    expect(p.url()).toContain(`page=${last}`)
    expect(await p.$$eval('table.events tbody tr[data-id]', (r) => r.length)).toBe(n - (last - 1) * 100)

    await p.goto(server.url)
    await p.waitForSelector('table.events tbody tr[data-id]')
    const before = await p.evaluate(() => history.length)
    await p.click('table.events tbody tr[data-id] .time-button')
    await p.waitForSelector('dialog.detail[open]')
    await p.keyboard.press('Escape')
    await p.waitForSelector('dialog.detail', { state: 'detached' })
    expect(await p.evaluate(() => history.length)).toBe(before)

    await p.route('**/api/v1/audit/**', (r) => r.abort())
    await p.click('button:has-text("Refresh")')
    await p.waitForSelector('text=Refresh failed', { timeout: 20_000 })
    expect(await p.$$eval('table.events tbody tr[data-id]', (r) => r.length)).toBe(50)
    await ctx.close()
  })

  it('keeps the key across tabs, and a visitor without a key writes no auth_failed event', async () => {
    const failed = async () => (await server.store.queryEvents({ filters: { operation_type: ['auth_failed'] }, limit: 0 })).total
    const n = await failed()
    const stranger = await browser.newContext()
    const s = await stranger.newPage()
    await s.goto(server.url)
    await s.waitForSelector('form[aria-labelledby="signin-title"]')
    expect(await s.textContent('form')).not.toContain('not accepted')
    await stranger.close()

    const ctx = await browser.newContext()
    const first = await ctx.newPage()
    await first.goto(`${server.url}#token=${READ}`)
    await first.waitForSelector('table.events tbody tr[data-id]')
    const second = await ctx.newPage()
    await second.goto(`${server.url}?range=30d`)
    await second.waitForSelector('table.events tbody tr[data-id]')
    expect(await second.textContent('.who')).toContain('e2e-reader')
    // signing out in one tab signs out the other
    await second.click('button:has-text("Sign out")')
    await first.waitForSelector('form[aria-labelledby="signin-title"]')
    await ctx.close()
    await new Promise((r) => setTimeout(r, 200)) // the audit writer's flush
    expect(await failed()).toBe(n)
  })
})
