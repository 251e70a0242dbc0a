/**
 * Benchmarks: each hot path against a baseline measured in the same run.
 *
 *   pnpm bench                                     # full sizes (about 12 minutes on 2 cores)
 *   pnpm bench --events 200000 --rows 1000000      # smaller
 *   pnpm bench --only ingest,http                  # some sections: enqueue, ingest, http, query, pglite, import, compression
 *   pnpm bench --scale                             # only the scale run (bench/scale.ts): 1M, 10M, 100M events, hours
 *   pnpm bench --scale --scale-rows 1000000,10000000
 *
 * Needs the local Postgres server (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) and psql; fresh databases are
 * made and dropped. Writes bench/results.json and bench/results.svg.
 */
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ROOT, esc, results, type Result } from './lib.ts'
import { enqueueCost, ingestPostgres, operationCost } from './ingest.ts'
import { httpIngest } from './http.ts'
import { compressionFigures } from './compression.ts'
import { importCost } from './import-cost.ts'
import { pgliteFigures } from './pglite.ts'
import { queryLatency } from './query.ts'
import { runHeader, writeReadmeTable } from './table.ts'
import { scaleBench } from './scale.ts'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? (process.argv[i + 1] as string) : fallback
}
const EVENTS = Number(arg('events', '1000000'))
const SWEEP = Math.min(EVENTS, Number(arg('sweep', '200000')))
const SINGLE = Number(arg('single', '20000'))
const ENQUEUE = Number(arg('enqueue', '300000'))
const ROWS = arg('rows', '1000000,10000000').split(',').map(Number).filter((n) => n > 0)
const PGLITE_ROWS = Number(arg('pglite-rows', '1000000'))
const COMPRESSION_ROWS = Number(arg('compression-rows', '200000'))
const ONLY = new Set(arg('only', 'enqueue,ingest,http,query,pglite,import,compression').split(','))
const SCALE_ROWS = arg('scale-rows', '1000000,10000000,100000000').split(',').map(Number).filter((n) => n > 0)
const SCALE_CHUNK = Number(arg('scale-chunk', '1000000'))

async function main() {
  const started = performance.now()
  if (process.argv.includes('--scale')) {
    console.log(`node ${process.version}, ${os.cpus().length} cores; scale run at ${SCALE_ROWS.map((n) => n.toLocaleString('en-US')).join(', ')} events`)
    await scaleBench(SCALE_ROWS, SCALE_CHUNK)
    console.log(`\nwhole run: ${((performance.now() - started) / 60_000).toFixed(1)} min`)
    return
  }
  console.log(`node ${process.version}, ${os.cpus().length} cores; ingest ${EVENTS.toLocaleString('en-US')} events; query sizes ${ROWS.map((n) => n.toLocaleString('en-US')).join(', ')}\n`)
  let enq = { pinoNs: 0, logNs: 0 }
  if (ONLY.has('enqueue')) {
    enq = await enqueueCost(ENQUEUE)
    await operationCost()
  }
  let ingest: Awaited<ReturnType<typeof ingestPostgres>> | undefined
  if (ONLY.has('ingest')) ingest = await ingestPostgres(EVENTS, SINGLE, SWEEP)
  if (ONLY.has('http')) await httpIngest(SWEEP, 500, ingest?.sweep.get(500) ?? 0)
  if (ONLY.has('query')) for (const [i, n] of ROWS.entries()) await queryLatency(n, i === 0)
  if (ONLY.has('pglite')) {
    await pgliteFigures({
      events: SWEEP,
      singles: Math.min(SINGLE, 5000),
      rows: PGLITE_ROWS,
      pinoNs: enq.pinoNs,
      ...(ingest?.sweep.get(1000) ? { serverLibraryRate: ingest.sweep.get(1000) } : {}),
    })
  }
  if (ONLY.has('import')) importCost()
  if (ONLY.has('compression')) await compressionFigures(COMPRESSION_ROWS)
  const minutes = (performance.now() - started) / 60_000
  console.log(`\nwhole run: ${minutes.toFixed(1)} min`)
  const run = { date: new Date().toISOString(), node: process.version, cores: os.cpus().length, argv: process.argv.slice(2), minutes: Math.round(minutes * 10) / 10 }
  await writeFile(path.join(ROOT, 'bench/results.json'), `${JSON.stringify({ ...run, results }, null, 2)}\n`)
  await writeFile(path.join(ROOT, 'bench/results.svg'), svg(results))
  await writeReadmeTable(results, runHeader(run))
  console.log('wrote bench/results.json, bench/results.svg and the table in bench/README.md')
}

/** One bar per figure that has a baseline, on a log scale around 1× (the baseline). */
function svg(rs: Result[]): string {
  const bars = rs.filter((r) => r.ratio !== undefined && r.ratio > 0)
  const w = 980
  const rowH = 20
  const left = 470
  const mid = left + 180 // where 1× sits
  const perDecade = 120
  const x = (ratio: number) => mid + Math.log10(ratio) * perDecade
  const body = bars
    .map((r, i) => {
      const y = 40 + i * rowH
      const ratio = r.ratio as number
      const good = r.met ?? (r.lowerIsBetter ? ratio <= 1 : ratio >= 1)
      const x0 = Math.min(mid, x(ratio))
      const width = Math.max(1, Math.abs(x(ratio) - mid))
      return `<text x="0" y="${y + 13}" font-size="11">${esc(`${r.scenario}: ${r.measure}`.slice(0, 78))}</text>
<rect x="${x0.toFixed(1)}" y="${y + 2}" width="${width.toFixed(1)}" height="14" fill="${r.goal ? (good ? '#2b8a3e' : '#c92a2a') : '#3b5bdb'}"/>
<text x="${(Math.max(mid, x(ratio)) + 4).toFixed(1)}" y="${y + 13}" font-size="10">${ratio}× ${esc(r.baseline ?? '')}${r.lowerIsBetter ? ' (lower is better)' : ''}</text>`
    })
    .join('\n')
  const h = 60 + bars.length * rowH
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="0" y="16" font-size="13" font-weight="bold">Each figure as a ratio to its baseline measured in the same run (log scale; green: goal met, red: missed)</text>
<line x1="${mid}" y1="30" x2="${mid}" y2="${h - 10}" stroke="#868e96" stroke-dasharray="3,3"/>
<text x="${mid - 8}" y="30" font-size="10">1×</text>
${body}
</svg>
`
}

void main()
