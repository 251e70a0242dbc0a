/**
 * The events page at 1,000,000 events on Postgres, in Chromium: first table
 * render, a filter change, and the live tail's latency. Each is set against
 * a baseline measured in the same run: the API requests the page makes for
 * it, timed from Node on one kept-alive connection (the page's own cost is
 * the ratio's excess), and for the live tail the stream's poll interval.
 *
 *   npx tsx bench/page.ts [--rows 1000000] [--runs 5]
 */
import { spawnSync } from 'node:child_process'
import { chromium } from 'playwright-core'
import { ROOT, createDatabase, fmt, loadDataset, percentile, startApiServer, timeApi } from './lib.ts'

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? d) : d
}
const ROWS = Number(arg('rows', '1000000'))
const RUNS = Number(arg('runs', '5'))
const median = (xs: number[]) => percentile(xs, 50)

// the server as production runs it, with the page it serves, both from the current sources
for (const pkg of ['@audit/api...', '@audit/web']) {
  const r = spawnSync('npx', ['-y', 'pnpm@10.34.9', '--filter', pkg, 'build'], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`building ${pkg} failed:\n${r.stdout}${r.stderr}`)
}
const db = await createDatabase('page')
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
let server: Awaited<ReturnType<typeof startApiServer>> | undefined
try {
  console.log(`loaded ${fmt(ROWS)} rows in ${fmt(await loadDataset(db.sql, ROWS))} s`)
  server = await startApiServer({ DATABASE_URL: db.url })
  const s = server
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const settled = () => page.waitForFunction(() => document.querySelector('table.events tbody tr[data-id]') && !document.querySelector('table.events.stale') && !document.querySelector('[aria-busy="true"]'), null, { timeout: 60_000 })

  // first render: navigation to the first rows on screen, a fresh page each time
  const first: number[] = []
  for (let i = 0; i < RUNS + 1; i++) {
    const t = performance.now()
    await page.goto(`${s.url}?cb=${i}#token=${s.key}`)
    await page.waitForSelector('table.events tbody tr[data-id]', { timeout: 60_000 })
    if (i > 0) first.push(performance.now() - t) // the first run warms the server's caches and the browser's
  }
  const since = new Date(Date.now() - 7 * 86_400_000).toISOString()
  const listApi = await timeApi(s, `api/v1/audit/events?start_date=${since}&limit=50&offset=0&order=desc`, RUNS * 4, 5)

  // filter change: result=failure picked from the URL state, as the filters bar does
  const filter: number[] = []
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${s.url}#token=${s.key}`)
    await settled()
    const t = performance.now()
    await page.evaluate(() => {
      history.pushState(null, '', `${location.pathname}?result=failure`)
      dispatchEvent(new PopStateEvent('popstate'))
    })
    await page.waitForFunction(
      () => {
        const rows = Array.from(document.querySelectorAll('table.events tbody tr[data-id]'))
        return rows.length > 0 && !rows.some((r) => /success/i.test(r.textContent ?? '')) && !document.querySelector('table.events.stale')
      },
      null,
      { timeout: 60_000 },
    )
    filter.push(performance.now() - t)
  }
  const filterApi = await timeApi(s, `api/v1/audit/events?start_date=${since}&result=failure&limit=50&offset=0&order=desc`, RUNS * 4, 5)

  // live tail: POST committed (201) → row on screen
  await page.goto(`${s.url}#token=${s.key}`)
  await settled()
  await page.click('button:has-text("Live")')
  await page.waitForSelector('[data-testid="live-status"]:has-text("live")')
  const live: number[] = []
  for (let i = 0; i < RUNS * 2; i++) {
    const res = await fetch(`${s.url}api/v1/audit/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'frontend', operation_type: 'bench_live', result: 'success', message: `live ${i}` }),
    })
    const id = ((await res.json()) as { ids: string[] }).ids[0] as string
    const t = performance.now()
    await page.waitForSelector(`tr[data-id="${id}"]`, { timeout: 10_000 })
    live.push(performance.now() - t)
    await page.waitForTimeout(300 + ((i * 137) % 700)) // spread the posts over the poll's phase
  }

  const row = (measure: string, v: number, base: number, baseline: string) => console.log(`| page 1M | ${measure} | ${fmt(v)} ms | ${fmt(base)} ms | **${fmt(Math.round((v / base) * 100) / 100)}×** ${baseline} (lower is better) |`)
  console.log(`\nRun of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fmt(ROWS)} rows, ${RUNS} runs each (median)\n`)
  console.log('| section | measure | value | baseline | ratio |\n|---|---|---|---|---|')
  row('first table render (navigation → first row on screen)', median(first), median(listApi), 'the list request alone, from Node, p50')
  row('filter change (result=failure → new rows on screen)', median(filter), median(filterApi), 'the filtered list request alone, p50')
  row(`live tail: 201 → row on screen, p50 (max ${fmt(Math.max(...live))} ms)`, median(live), 1000, 'the stream poll interval')
} finally {
  await browser.close()
  await server?.stop()
  await db.drop()
}
