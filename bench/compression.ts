/**
 * Why the API compresses with its own middleware (apps/api/src/compression.ts)
 * and not `hono/compress`: the same CSV export, through the API's real export
 * route, with no compression (the baseline), with `hono/compress`, and with
 * the project's `compression()`, in one run on one database.
 *
 * createApp always installs `compression()`, so each variant is an outer
 * Hono app that runs the middleware under test and hands the request to the
 * API app without its Accept-Encoding (the API's own middleware then leaves
 * the body alone); the three variants pay for that hop alike. The server runs
 * in this process, on @hono/node-server as in production, so that the bytes
 * the store hands the route can be counted; the client is `node:http`
 * asking for gzip.
 *
 * A fast reader gives time to first byte, total time, rows/s and the bytes on
 * the wire (median of the runs, the variants interleaved). A slow reader takes
 * the first chunk and then reads nothing for `--pause` ms; at the end of the
 * pause: the bytes the store has handed the route, the bytes the server has
 * sent to the socket (the kernel's socket buffers hold them, whatever the
 * middleware), and the difference, the CSV that the server read ahead of its
 * socket and holds in memory (the bytes sent counted as the CSV they carry,
 * at the export's overall compression ratio). Each download has a connection
 * of its own.
 *
 *   tsx --conditions=@audit/source bench/compression.ts [--rows 200000] [--runs 5] [--pause 2000]   # prints the figures and their table, writes nothing
 *   pnpm bench --only compression [--compression-rows 200000]                                          # as a section of the benchmarks
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createGunzip } from 'node:zlib'
import { serve, type HttpBindings } from '@hono/node-server'
import { Hono, type MiddlewareHandler } from 'hono'
import { compress } from 'hono/compress'
import { createAuditLogger, type AuditStore } from '@audit/core'
import { openPostgresStore } from '@audit/core/postgres'
import { createApp } from '../apps/api/src/app.ts'
import { apiKey } from '../apps/api/src/auth.ts'
import { compression } from '../apps/api/src/compression.ts'
import { createDatabase, fmt, loadDataset, percentile, report, results } from './lib.ts'
import { markdownTable } from './table.ts'

const VARIANTS: { name: string; middleware?: MiddlewareHandler }[] = [
  { name: 'no compression' },
  { name: 'hono/compress', middleware: compress() },
  { name: 'compression() (apps/api)', middleware: compression() },
]
const BASELINE = VARIANTS[0]!.name
const KEY = 'bench-compression-0123456789'
const PATH = '/api/v1/audit/events/export?format=csv&order=asc'

interface Download {
  rows: number
  /** ms from the request to the first byte of the body */
  ttfb: number
  /** ms from the request to the end of the body */
  total: number
  /** body bytes as sent (compressed or not) */
  wire: number
  /** the body decoded, when asked for */
  decoded?: number
  /** at the end of the pause: bytes the store had handed the route, and bytes the server had sent (to the socket) */
  storeAtPauseEnd?: number
  sentAtPauseEnd?: number
}

/** What the server has done for the export in flight: bytes read from the store, the response's socket. */
interface Probe {
  storeBytes: number
  socket?: Socket
  /** the socket's bytesWritten when the response began (a kept-alive socket counts on) */
  socketBase: number
}

export async function compressionFigures(rows = 200_000, runs = 5, pauseMs = 2000): Promise<void> {
  console.log(`\ncompression: CSV export of ${rows.toLocaleString('en-US')} rows, ${runs} fast runs per variant, slow reader pausing ${pauseMs} ms`)
  const db = await createDatabase('compression')
  let store: Awaited<ReturnType<typeof openPostgresStore>> | undefined
  try {
    console.log(`loaded ${rows.toLocaleString('en-US')} rows in ${(await loadDataset(db.sql, rows)).toFixed(1)} s`)
    store = await openPostgresStore({ databaseUrl: db.url, migrate: false })
    const probe: Probe = { storeBytes: 0, socketBase: 0 }
    const audit = createAuditLogger({ store, log: { warn() {}, error() {} }, source: 'system' })
    const api = createApp({ store: countingStore(store, probe), audit, keys: [apiKey('read', KEY, 'bench')], webDist: null, exportMaxRows: rows * 2 })
    const servers = await Promise.all(VARIANTS.map((v) => listen(variantApp(api, v.middleware, probe))))
    try {
      const fast: Download[][] = VARIANTS.map(() => [])
      await download(servers[0]!.port, probe) // warm-up: JIT, the export pool's connection, the table in cache
      for (let r = 0; r < runs; r++) for (const [i, s] of servers.entries()) fast[i]!.push(await download(s.port, probe))
      const slow: Download[] = []
      for (const s of servers) slow.push(await download(s.port, probe, pauseMs))
      const csvBytes = slow[0]!.decoded!
      for (const [i, d] of slow.entries()) {
        if (d.decoded !== csvBytes) throw new Error(`${VARIANTS[i]!.name}: the body decodes to ${d.decoded} bytes, the uncompressed one has ${csvBytes}`)
      }
      const n = fast[0]![0]!.rows
      const MiB = 1048576
      const med = (i: number, k: 'ttfb' | 'total' | 'wire') => percentile(fast[i]!.map((d) => d[k]), 50)
      /** The figure, and from the second variant on its ratio to the first's. */
      const figure = (i: number, measure: string, unit: string, value: (i: number) => number, lowerIsBetter: boolean) =>
        report({
          scenario: 'compress',
          measure: `${VARIANTS[i]!.name}: ${measure}`,
          value: value(i),
          unit,
          ...(i > 0 ? { baseline: BASELINE, baselineValue: value(0), lowerIsBetter } : {}),
        })
      const pause = `${fmt(pauseMs / 1000)} s pause`
      for (const i of VARIANTS.keys()) {
        figure(i, 'time to first byte, p50', 'ms', (j) => med(j, 'ttfb'), true)
        figure(i, 'total time, p50', 'ms', (j) => med(j, 'total'), true)
        figure(i, 'rows/s', 'rows/s', (j) => (n / med(j, 'total')) * 1000, false)
        figure(i, 'bytes on the wire', 'MiB', (j) => med(j, 'wire') / MiB, true)
        figure(i, `slow reader: read from the store by the end of a ${pause} (of ${fmt(csvBytes / MiB)} MiB)`, 'MiB', (j) => slow[j]!.storeAtPauseEnd! / MiB, true)
        figure(i, "slow reader: sent to the socket by then (held in the kernel's socket buffers)", 'MiB', (j) => slow[j]!.sentAtPauseEnd! / MiB, true)
        // what the server holds: read from the store and not yet sent, the bytes sent counted as the CSV they carry
        const held = (j: number) => {
          const s = slow[j]!
          return Math.max(0, s.storeAtPauseEnd! - s.sentAtPauseEnd! * (csvBytes / s.wire)) / MiB
        }
        report({ scenario: 'compress', measure: `${VARIANTS[i]!.name}: slow reader: read ahead of the socket, held in the server (CSV)`, value: held(i), unit: 'MiB' })
      }
      console.log(`(${n.toLocaleString('en-US')} rows, ${fmt(csvBytes / MiB)} MiB of CSV; Node ${process.version})`)
    } finally {
      for (const s of servers) await s.close()
      await audit.shutdown({ deadlineMs: 1000 })
    }
  } finally {
    await store?.close()
    await db.drop()
  }
}

/** The store, with every byte its CSV export hands out counted (in `probe`) as the route reads it. */
function countingStore(store: AuditStore, probe: Probe): AuditStore {
  const exportCsv = store.exportCsv?.bind(store)
  if (!exportCsv) throw new Error('the store has no CSV export')
  return new Proxy(store, {
    get(target, key) {
      if (key === 'exportCsv') {
        return (...args: Parameters<typeof exportCsv>) => {
          const reader = exportCsv(...args).getReader()
          return new ReadableStream<Uint8Array>(
            {
              async pull(controller) {
                const { done, value } = await reader.read()
                if (done) { controller.close(); return; }
                probe.storeBytes += value.byteLength
                controller.enqueue(value)
              },
              cancel: (reason) => reader.cancel(reason),
            },
            // pulled only when the route asks, as the store's own stream is
            { highWaterMark: 0 },
          )
        }
      }
      const v: unknown = Reflect.get(target, key)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/** The middleware under test in front of the API app, which gets the request without Accept-Encoding. */
function variantApp(api: ReturnType<typeof createApp>, middleware: MiddlewareHandler | undefined, probe: Probe) {
  const app = new Hono<{ Bindings: HttpBindings }>()
  if (middleware) app.use('*', middleware)
  app.all('*', (c) => {
    probe.socket = c.env.outgoing.socket ?? undefined
    probe.socketBase = probe.socket?.bytesWritten ?? 0
    const headers = new Headers(c.req.raw.headers)
    headers.delete('accept-encoding')
    return api.fetch(new Request(c.req.raw, { headers }), c.env)
  })
  return app
}

function listen(app: { fetch: (req: Request, env: HttpBindings) => Response | Promise<Response> }): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch as never, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({ port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) })
    })
  })
}

/**
 * One export read to its end. With `pauseMs`, the reader takes the first
 * chunk, then reads nothing for that long (and decodes the body, to check it).
 */
function download(port: number, probe: Probe, pauseMs?: number): Promise<Download> {
  return new Promise((resolve, reject) => {
    const store0 = probe.storeBytes
    const t0 = performance.now()
    // a fresh connection each time: a kept-alive one carries the socket buffers an earlier download grew
    const req = http.get({ host: '127.0.0.1', port, path: PATH, agent: false, headers: { authorization: `Bearer ${KEY}`, 'accept-encoding': 'gzip' } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`export answered ${res.statusCode}`)); return; }
      const d: Download = { rows: Number(res.headers['x-total-count']), ttfb: 0, total: 0, wire: 0 }
      // written to by hand, not piped: a pipe would resume the response during the pause
      const gunzip = pauseMs !== undefined && res.headers['content-encoding'] === 'gzip' ? createGunzip() : undefined
      let size = 0
      const decoded = new Promise<number>((ok, fail) => {
        if (!gunzip) return res.once('end', () => ok(size))
        gunzip.on('data', (b: Buffer) => (size += b.length))
        gunzip.once('end', () => ok(size))
        gunzip.once('error', fail)
      })
      res.on('data', (chunk: Buffer) => {
        if (d.wire === 0) {
          d.ttfb = performance.now() - t0
          if (pauseMs !== undefined) {
            res.pause()
            setTimeout(() => {
              d.storeAtPauseEnd = probe.storeBytes - store0
              d.sentAtPauseEnd = (probe.socket?.bytesWritten ?? 0) - probe.socketBase
              res.resume()
            }, pauseMs)
          }
        }
        d.wire += chunk.length
        if (gunzip) gunzip.write(chunk)
        else size += chunk.length
      })
      res.once('end', () => {
        d.total = performance.now() - t0
        gunzip?.end()
        if (pauseMs === undefined) {
          resolve(d)
          return
        }
        decoded.then((n) => {
          d.decoded = n
          resolve(d)
        }, reject)
      })
      res.once('error', reject)
    })
    req.once('error', reject)
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i > 0 ? Number(process.argv[i + 1]) : undefined
  }
  await compressionFigures(arg('rows'), arg('runs'), arg('pause'))
  console.log(`\n${markdownTable(results)}`)
}
