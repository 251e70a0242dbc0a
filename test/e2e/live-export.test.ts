/**
 * The events page's live tail and its export through a signed download link,
 * in a real Chromium against the real server.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, buildWeb, launchChromium, startApp } from './harness.ts'

const ROWS = 200_000
let browser: Browser
let server: Awaited<ReturnType<typeof startApp>>
let context: BrowserContext
let page: Page
let cdp: CDPSession

beforeAll(async () => {
  const dist = await buildWeb()
  server = await startApp(dist, { server: true })
  // straight into the table, in one statement: 200,000 events over the last 6 days
  const t0 = performance.now()
  await server.exec(`
    insert into public.audit_events (timestamp, source, operator, operation_type, result, severity, message, extra_info)
    select now() - make_interval(secs => 6 * 86400.0 * i / ${ROWS} + 60), (array['api-service','frontend','system'])[1 + i % 3], 'user' || (i % 97) || '@example.com',
           (array['login','export','update'])[1 + i % 3], (array['success','failure','warning'])[1 + i % 3], (array['info','error','warning'])[1 + i % 3],
           'seeded event ' || i || ' — Zoë', jsonb_build_object('n', i)
    from generate_series(1, ${ROWS}) i;
    analyze public.audit_events;`)
  console.log(`seeded ${ROWS} rows in ${Math.round(performance.now() - t0)} ms`)
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })
  // the path of browsers without the File System Access API (Firefox, Safari): the signed link
  await context.addInitScript(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker)
  page = await context.newPage()
  cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  await page.goto(`${server.url}#token=${ADMIN}`)
  await page.waitForSelector('table.events tbody tr[data-id]')
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** The tab's used JS heap (CDP Performance.getMetrics JSHeapUsedSize), in MB. */
async function heapMb(gc = false): Promise<number> {
  if (gc) await cdp.send('HeapProfiler.collectGarbage')
  const { metrics } = await cdp.send('Performance.getMetrics')
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 2 ** 20
}

async function post(message: string): Promise<string> {
  const res = await fetch(`${server.url}api/v1/audit/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source: 'frontend', operation_type: 'live_probe', result: 'failure', message }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { ids: string[] }).ids[0]!
}

describe('live tail', () => {
  it('shows an event POSTed while Live is on within 2 s, on top of the table; pause holds new rows until resumed', async () => {
    await page.click('button:has-text("Live")')
    await page.waitForSelector('[data-testid="live-status"]:has-text("live")')
    const latencies: number[] = []
    for (let i = 0; i < 3; i++) {
      const id = await post(`live ${i}`)
      const t = performance.now()
      await page.waitForSelector(`table.events tbody tr[data-id="${id}"]`, { timeout: 2000 })
      latencies.push(Math.round(performance.now() - t))
      expect(await page.getAttribute('table.events tbody tr[data-id]', 'data-id')).toBe(id)
    }
    console.log(`live tail: POST committed → row on screen in ${latencies.join(', ')} ms`)
    expect(Math.max(...latencies)).toBeLessThan(2000)

    await page.click('button:has-text("Pause")')
    await page.waitForSelector('[data-testid="live-status"]:has-text("paused")')
    const held = await post('while paused')
    await page.waitForTimeout(1500)
    expect(await page.$(`tr[data-id="${held}"]`)).toBeNull()
    await page.click('button:has-text("Resume")')
    // the stream reopens after the last row shown (Last-Event-ID): what came meanwhile arrives
    await page.waitForSelector(`table.events tbody tr[data-id="${held}"]`, { timeout: 3000 })
    await page.click('button:has-text("Live")')
    expect(await page.$(`tr[data-id="${held}"]`)).toBeNull()
  })
})

describe('export without the File System Access API', () => {
  it(`downloads ${ROWS.toLocaleString('en')} rows through a signed link with the tab's JS heap flat`, async () => {
    await page.click('button:has-text("Export…")')
    await page.waitForSelector('[data-testid="export-count"]', { timeout: 30_000 })
    const count = Number((await page.textContent('[data-testid="export-count"]'))!.replace(/\D/g, ''))
    expect(count).toBeGreaterThanOrEqual(ROWS)
    const before = await heapMb(true)
    let peak = before
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await heapMb())
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const t0 = performance.now()
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('dialog button:has-text("Download")')])
    const file = await download.path()
    const seconds = (performance.now() - t0) / 1000
    sampling = false
    await sampler
    const after = await heapMb(true)
    let lines = 0
    for await (const _ of createInterface({ input: createReadStream(file) })) lines++
    console.log(
      `export: ${count} rows (${lines} lines) in ${seconds.toFixed(1)} s; tab JSHeapUsedSize ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after (both after GC), peak ${peak.toFixed(1)} MB while downloading`,
    )
    expect(lines).toBe(count + 1)
    expect(download.url()).toMatch(/\/api\/v1\/audit\/events\/export\/download\?.*token=/)
    expect(download.url()).not.toContain(ADMIN)
    // the file never passed through the tab: its heap stayed within a few MB (the file is ~40 MB)
    expect(peak - before).toBeLessThan(8)
    expect(after - before).toBeLessThan(4)
    await page.waitForSelector(`text=Downloading ${count.toLocaleString('en')} events`)
  }, 120_000)
})

describe('brush to zoom', () => {
  const range = () => {
    const u = new URL(page.url())
    return { start: Date.parse(u.searchParams.get('start') ?? ''), end: Date.parse(u.searchParams.get('end') ?? '') }
  }

  it('dragging across the histogram sets the range to the bars brushed; the keyboard does the same', async () => {
    await page.goto(`${server.url}?range=7d#token=${ADMIN}`)
    await page.waitForSelector('[data-testid="histogram-brush"]')
    const label = (await page.getAttribute('.histogram svg', 'aria-label'))!
    const bucketMs = label.includes('per day') ? 86_400_000 : 3_600_000
    const bars = (await page.$$('.histogram svg g')).length
    const box = (await page.locator('[data-testid="histogram-brush"]').boundingBox())!
    const y = box.y + box.height / 2
    await page.mouse.move(box.x + box.width * 0.25, y)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.55, y, { steps: 5 })
    expect(await page.$('.brush-sel')).not.toBeNull()
    await page.mouse.up()
    await page.waitForFunction(() => new URL(location.href).searchParams.has('start'))
    const dragged = range()
    // whole bars, from the one under the pointer's start to the one under its end
    expect(dragged.start % bucketMs).toBe(0)
    expect((dragged.end + 1) % bucketMs).toBe(0)
    const brushed = (dragged.end + 1 - dragged.start) / bucketMs
    const expected = Math.floor(0.55 * bars) - Math.floor(0.25 * bars) + 1
    expect(Math.abs(brushed - expected)).toBeLessThanOrEqual(1)
    expect(brushed).toBeGreaterThan(1)
    // the zoomed range's histogram (another bucket size, maybe) in place
    await page.waitForFunction((s) => (document.querySelector('.histogram svg')?.getAttribute('aria-label') ?? s) !== s, label, { timeout: 30_000 })

    // keyboard: the last bar of the zoomed range, widened by one to the left, Enter
    const zoomedMs = (await page.getAttribute('.histogram svg', 'aria-label'))!.includes('per day') ? 86_400_000 : 3_600_000
    await page.focus('[data-testid="histogram-brush"]')
    await page.keyboard.press('End')
    await page.keyboard.press('Shift+ArrowLeft')
    expect(await page.textContent('[data-testid="histogram-brush"] .sr-only')).toMatch(/selected: Enter zooms to it/)
    const before = new URL(page.url()).search
    await page.keyboard.press('Enter')
    await page.waitForFunction((s) => location.search !== s, before)
    const keyed = range()
    expect(keyed.end).toBeLessThanOrEqual(dragged.end)
    expect(keyed.start).toBeGreaterThan(dragged.start)
    expect(keyed.end + 1 - keyed.start).toBe(2 * zoomedMs)
  }, 90_000)
})
