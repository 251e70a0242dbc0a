/**
 * Response compression, as the client's Accept-Encoding allows, that keeps a
 * streamed body pull-based.
 *
 * hono/compress makes the same decisions but pipes the body through
 * CompressionStream, and Node's (20, 22 and 24) takes its whole input ahead
 * of a slow reader (its writable side counts up to 16,384 chunks before it
 * pushes back): an export would be read to its end into memory, holding its
 * database connection, while the client was still downloading the first
 * megabytes. Here the body is read one chunk at a time, only when the client
 * asks for more, and what zlib has of it is sent at least every
 * FLUSH_BYTES of input. Measured against hono/compress: bench/README.md, "Compression".
 */
import { constants, createDeflate, createGzip, type Deflate, type Gzip } from 'node:zlib'
import type { MiddlewareHandler } from 'hono'
import { COMPRESSIBLE_CONTENT_TYPE_REGEX } from 'hono/compress'
import { parseAccept } from 'hono/utils/accept'

const ENCODINGS = ['gzip', 'deflate'] as const
type Encoding = (typeof ENCODINGS)[number]

/** Bodies shorter than this (when their length is known) are sent as they are. */
const THRESHOLD = 1024
/** Input compressed between two flushes at most: a slow source is sent as it comes, a fast one in well-compressed blocks. */
const FLUSH_BYTES = 64 * 1024

/** The compressible types hono knows, and NDJSON (an export format). */
function compressible(type: string | null): boolean {
  return type !== null && (COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type) || /^\s*application\/x-ndjson\b/i.test(type))
}

/** The encoding the client prefers among ours (gzip on a tie), or undefined for none. */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined
  const accepts = parseAccept(acceptEncoding)
  const wildcard = accepts.find((a) => a.type === '*')?.q
  let best: { encoding: Encoding; q: number } | undefined
  for (const encoding of ENCODINGS) {
    const q = accepts.find((a) => a.type.toLowerCase() === encoding)?.q ?? wildcard ?? 0
    if (q > 0 && (!best || q > best.q)) best = { encoding, q }
  }
  return best?.encoding
}

/**
 * Compresses what the client accepts: responses of a compressible type
 * (JSON, text and CSV, NDJSON, JavaScript, CSS, SVG …) of at least 1 KiB or
 * of unknown length, unless already encoded, partial (206), marked
 * `no-transform`, or a HEAD answer (which keeps the identity headers). Adds
 * `Vary: Accept-Encoding` to every response it could have compressed.
 *
 * @example
 * app.use('*', compression())
 */
export function compression(): MiddlewareHandler {
  return async (c, next) => {
    await next()
    const res = c.res
    const length = res.headers.get('Content-Length')
    if (
      c.req.method === 'HEAD' ||
      res.status === 206 ||
      res.headers.has('Content-Encoding') ||
      (length !== null && Number(length) < THRESHOLD) ||
      !compressible(res.headers.get('Content-Type')) ||
      /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(res.headers.get('Cache-Control') ?? '')
    ) {
      return
    }
    const vary = res.headers.get('Vary')
    if (vary !== '*' && !/(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(vary ?? '')) c.header('Vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding')
    const encoding = negotiateEncoding(c.req.header('Accept-Encoding'))
    if (!encoding || !res.body) return
    c.res = new Response(compressStream(res.body, encoding), res)
    c.res.headers.delete('Content-Length')
    c.res.headers.set('Content-Encoding', encoding)
    const etag = c.res.headers.get('ETag')
    if (etag && !etag.startsWith('W/')) c.res.headers.set('ETag', `W/${etag}`)
  }
}

/**
 * zlib's fastest level: an export is CPU-bound on this path, and level 1
 * keeps most of the size gain (bench/README.md, "Compression").
 */
const ZLIB_OPTIONS = { level: constants.Z_BEST_SPEED }

/**
 * `source` compressed, pull-based: a chunk of it is read only when the
 * reader wants more; a cancel cancels the source.
 */
export function compressStream(source: ReadableStream<Uint8Array>, encoding: Encoding): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  const zlib: Gzip | Deflate = encoding === 'gzip' ? createGzip(ZLIB_OPTIONS) : createDeflate(ZLIB_OPTIONS)
  const out: Buffer[] = []
  zlib.on('data', (b: Buffer) => out.push(b))
  zlib.on('error', () => {}) // each step below rejects with it
  const taken = () => Buffer.concat(out.splice(0))
  // zlib emits what a write or a flush produced before it calls back (on a
  // later tick than the output's 'data' events), and 'end' after the last
  const step = (start: (done: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      zlib.once('error', reject)
      start(() => {
        zlib.off('error', reject)
        resolve()
      })
    })
  let pending = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) {
              await step((cb) => {
                zlib.once('end', cb)
                zlib.end()
              })
              const rest = taken()
              if (rest.length > 0) controller.enqueue(rest)
              controller.close()
              return
            }
            await step((cb) => zlib.write(value, () => cb()))
            pending += value.byteLength
            if (pending < FLUSH_BYTES) continue
            pending = 0
            await step((cb) => zlib.flush(constants.Z_SYNC_FLUSH, cb))
            const bytes = taken()
            if (bytes.length > 0) {
              controller.enqueue(bytes)
              return
            }
          }
        } catch (err) {
          zlib.destroy()
          throw err
        }
      },
      async cancel(reason) {
        zlib.destroy()
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}
