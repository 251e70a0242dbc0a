import { OpenAPIHono, z } from '@hono/zod-openapi'
import { FilterParamsShape, eventsToCsv, eventsToNdjson, extraFilters, queryParams, toFilters, type AuditStore, type EventFilters, type SortOrder } from '@audit/core'
import { ApiError } from '../errors.ts'
import { defaultHook } from '../validation.ts'
import { getRequestAuditContext } from '@audit/core/hono'
import type { Context } from 'hono'
import { ErrorSchema, json } from '../schemas.ts'
import type { ApiKey, AuthOptions } from '../auth.ts'
import { canonicalParams, exportLinks } from '../export-link.ts'
import { ERRORS, defineRoute, guarded, retryAfter } from '../openapi.ts'

const BUSY = 'Too many exports are running; retry later'

const ExportShape = {
    ...FilterParamsShape,
    format: z.enum(['csv', 'ndjson']).default('csv').describe('csv (every value quoted, formula cells neutralised) or ndjson'),
    order: z.enum(['desc', 'asc']).default('desc'),
    bom: z.enum(['true', 'false']).optional().describe('`true`: a CSV starts with a UTF-8 byte-order mark, so Excel and LibreOffice read it as UTF-8 when opened by a double-click'),
}
const ExportParams = queryParams(ExportShape, { extra: true })

const route = defineRoute({
  method: 'get',
  path: '/',
  role: 'read',
  operationId: 'exportEvents',
  tag: 'export',
  summary: 'Export every matching event',
  description:
    'Streams every event that matches the filters as an attachment, with flat memory (on a Postgres server the database writes the CSV with COPY; elsewhere keyset pages). CSV: a header line, then every value quoted, null as an empty unquoted field, LF line ends, formula cells prefixed with an apostrophe. `X-Total-Count` says how many rows follow. Refused with 422 past AUDIT_EXPORT_MAX_ROWS. HEAD answers the same headers without the body, and without taking an export slot.',
  request: { query: ExportParams },
  responses: {
    200: {
      description: 'The events, streamed',
      content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
      headers: {
        'Content-Disposition': {
          description: 'An attachment named after the range and the filters',
          schema: { type: 'string', example: 'attachment; filename="audit-events_2026-11-16T00-00-00Z_2026-11-23T00-00-00Z.csv"' },
        },
        'X-Total-Count': { description: 'How many events (CSV rows after the header, or NDJSON lines) follow', schema: { type: 'integer', minimum: 0 } },
        'Cache-Control': { description: 'Always `no-store`', schema: { type: 'string', const: 'no-store' } },
      } as const,
    },
    422: ERRORS[422]({
      loc: ['query'],
      msg: '1000001 events match; at most 1000000 can be exported at once (AUDIT_EXPORT_MAX_ROWS): narrow the filters',
      type: 'too_many_rows',
    }),
    503: {
      description: 'AUDIT_EXPORT_CONCURRENCY exports are already streaming, or the audit store cannot be reached; retry after `Retry-After` seconds',
      content: { 'application/json': { schema: ErrorSchema, example: { detail: BUSY } } },
      headers: retryAfter('Seconds to wait before retrying'),
    },
  },
})

/** Characters a file name keeps from a filter value; the rest become `-`. */
const NAME_UNSAFE = /[^A-Za-z0-9_.@+-]+/g
const NAME_MAX = 180

/**
 * A file name that carries the range and the filters, e.g.
 * audit-events_2026-11-16T00-00-00Z_2026-11-23T00-00-00Z_result-failure_source-api+web.csv
 * (at most 180 characters before the extension; a longer filter list is cut).
 */
export function exportFileName(f: EventFilters, ext: string): string {
  const part = (s: string | undefined, fallback: string) => (s ? s.replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-') : fallback)
  const safe = (s: string) => s.replace(NAME_UNSAFE, '-')
  const filters: string[] = []
  // an exclusion reads as its filter with `not-` in front
  const add = (entries: [string, unknown][], prefix: string) => {
    for (const [k, v] of entries) {
      if (k === 'start_date' || k === 'end_date' || v === undefined) continue
      if (k === 'not') add(Object.entries(v as object), 'not-')
      else if (k === 'extra') for (const [ek, ev] of Object.entries(v as Record<string, string>)) filters.push(`${prefix}${safe(ek)}-${safe(ev)}`)
      else filters.push(`${prefix}${k}-${safe(Array.isArray(v) ? v.join('+') : (v as string))}`)
    }
  }
  add(Object.entries(f), '')
  const name = ['audit-events', part(f.start_date, 'beginning'), part(f.end_date, 'now'), ...filters].join('_')
  return `${name.slice(0, NAME_MAX).replace(/[-_+]+$/, '')}.${ext}`
}

const BOM = new Uint8Array([0xef, 0xbb, 0xbf])

/** The stream with a UTF-8 byte-order mark in front. */
function withBom(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let sent = false
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sent) {
          sent = true
          controller.enqueue(BOM)
          return
        }
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  )
}

/**
 * Every matching event in keyset pages, pull-based: the next page is read
 * only when the client has taken the previous one, so memory stays flat; a
 * client that goes away cancels the stream and no further query runs.
 */
function pagedExport(store: AuditStore, filters: EventFilters, order: SortOrder, csv: boolean, chunk: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let after: string | undefined
  let first = true
  let done = false
  const cancelled = () => done // read after an await: cancel() may have run meanwhile
  return new ReadableStream<Uint8Array>(
    {
    async pull(controller) {
      if (done) return
      const page = await store.queryEvents({ filters, limit: chunk, order, withTotal: false, ...(after ? { after } : {}) })
      if (cancelled()) return
      const text = csv ? eventsToCsv(page.events, { header: first }) : eventsToNdjson(page.events)
      first = false
      if (text) controller.enqueue(encoder.encode(text))
      after = page.events.at(-1)?.id
      if (page.events.length < chunk) {
        done = true
        controller.close()
      }
    },
    cancel() {
      done = true
    },
    },
    // nothing is read before the client asks
    { highWaterMark: 0 },
  )
}

/**
 * At most `max` exports stream at once (each holds a database connection
 * while its client reads); one more is refused. A slot is freed when its
 * stream ends, fails, is cancelled, or its client has not asked for the next
 * chunk for `idleMs` (a paused download must not hold a connection forever).
 */
export function exportSlots(max: number, idleMs: number) {
  let active = 0
  return {
    /** Every slot is taken: an export asked for now would be refused. */
    get full() {
      return active >= max
    },
    /** The stream, holding a slot until it is done; null when every slot is taken. */
    hold(open: () => ReadableStream<Uint8Array>): ReadableStream<Uint8Array> | null {
      if (this.full) return null
      active++
      let held = true
      const free = () => {
        if (held) active--
        held = false
        clearTimeout(idle)
      }
      let idle: NodeJS.Timeout | undefined
      const reader = open().getReader()
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            clearTimeout(idle)
            try {
              const { done, value } = await reader.read()
              if (done) {
                free()
                controller.close()
                return
              }
              controller.enqueue(value)
              idle = setTimeout(() => {
                free()
                controller.error(new Error(`export abandoned: the client read nothing for ${idleMs} ms`))
                reader.cancel().catch(() => {})
              }, idleMs)
              idle.unref()
            } catch (err) {
              free()
              controller.error(err)
            }
          },
          cancel(reason) {
            free()
            return reader.cancel(reason)
          },
        },
        { highWaterMark: 0 },
      )
    },
  }
}

export interface ExportDeps {
  store: AuditStore
  auth: AuthOptions
  maxRows: number
  /** Exports streaming at once (AUDIT_EXPORT_CONCURRENCY); more get 503. */
  concurrency: number
  /** How long an export waits for its client to read before it is abandoned (AUDIT_EXPORT_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number
  chunkRows?: number
  /** AUDIT_EXPORT_LINK_SECRET: signs download links; random per process when unset. */
  linkSecret?: string | undefined
}

const ExportLinkResponse = z
  .object({
    url: z.string().describe('Where to GET the export, relative to this server: the parameters and a signed token, never the API key'),
    expires_at: z.string().describe('When the link stops working (ISO 8601 UTC)'),
  })
  .openapi('ExportLink')

const linkRoute = defineRoute({
  method: 'post',
  path: '/link',
  role: 'read',
  operationId: 'createExportLink',
  tag: 'export',
  summary: 'A short-lived download link for an export',
  description:
    'For a browser that cannot stream a download into a file itself: a URL that its own download manager can fetch without the API key. The link carries the same parameters as GET /api/v1/audit/events/export and a token signed with HMAC-SHA256 (AUDIT_EXPORT_LINK_SECRET, or a secret made at server start), bound to those exact parameters, to the key that asked, and to an expiry 60 s later; it works once. Nothing is counted or exported until the link is followed.',
  request: { query: ExportParams },
  responses: {
    200: json(ExportLinkResponse, 'The link and when it expires'),
    422: ERRORS[422]({ loc: ['query', 'format'], msg: "Input should be 'csv' or 'ndjson'", type: 'enum' }),
  },
})

const DownloadParams = queryParams(
  { ...ExportShape, token: z.string().optional().describe('The signed token POST /api/v1/audit/events/export/link made') },
  { extra: true },
)

const LINK_REFUSED = {
  expired: 'This download link expired at 2026-11-23T10:00:00.000Z: export again to get a new one',
  altered: 'This download link was made for other export parameters (filters, format or bom): export again to get one for these',
}

const downloadRoute = defineRoute({
  method: 'get',
  path: '/download',
  role: 'public',
  operationId: 'downloadExport',
  tag: 'export',
  summary: 'Follow a download link',
  description:
    'The export of GET /api/v1/audit/events/export, authorised by the `token` of a link from POST /api/v1/audit/events/export/link instead of an API key: for the browser\'s download manager. Refused (401) when the token is missing, its signature does not match, it has expired or was used; refused (403) when any parameter differs from those it was made for, or its key may no longer read.',
  security: [],
  request: { query: DownloadParams },
  responses: {
    200: route.responses[200],
    401: { description: 'No token, a forged or expired one, or one already used', content: { 'application/json': { schema: ErrorSchema, example: { detail: LINK_REFUSED.expired } } } },
    403: { description: 'The parameters differ from those the link was made for, or its key may no longer read', content: { 'application/json': { schema: ErrorSchema, example: { detail: LINK_REFUSED.altered } } } },
    422: route.responses[422],
    503: route.responses[503],
  },
})

/** GET /api/v1/audit/events/export, POST …/link, GET …/download */
export function exportRoutes(deps: ExportDeps) {
  const app = new OpenAPIHono({ defaultHook })
  const chunk = Math.min(deps.chunkRows ?? 1000, deps.store.maxPageSize ?? Infinity)
  const slots = exportSlots(deps.concurrency, deps.idleTimeoutMs)
  const links = exportLinks({ keys: deps.auth.keys, secret: deps.linkSecret })

  /** The export of validated parameters, or its refusal. */
  const respond = async (c: Context, p: z.infer<typeof ExportParams>, head: boolean) => {
    const filters = toFilters(p, extraFilters(p))
    if (!head && slots.full) throw busy()
    const capped = await deps.store.queryEvents({ filters, limit: 0, countCap: deps.maxRows })
    if (!capped.totalExact) {
      const exact = await deps.store.queryEvents({ filters, limit: 0 })
      throw new ApiError(422, [
        {
          loc: ['query'],
          msg: `${exact.total} events match; at most ${deps.maxRows} can be exported at once (AUDIT_EXPORT_MAX_ROWS): narrow the filters`,
          type: 'too_many_rows',
        },
      ])
    }
    const csv = p.format === 'csv'
    const headers = {
      'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="${exportFileName(filters, csv ? 'csv' : 'ndjson')}"`,
      'X-Total-Count': String(capped.total),
      'Cache-Control': 'no-store',
    }
    // HEAD: the headers alone; no stream is opened, so nothing is held
    if (head) return c.body(null, 200, headers)
    const body = slots.hold(() => {
      const rows = csv && deps.store.exportCsv ? deps.store.exportCsv(filters, p.order) : pagedExport(deps.store, filters, p.order, csv, chunk)
      return csv && p.bom === 'true' ? withBom(rows) : rows
    })
    if (!body) throw busy()
    // through the context, so the headers set before (X-Request-Id) are kept
    return c.body(body, 200, headers)
  }

  app.openapi(guarded(route, deps.auth), (c) => respond(c, c.req.valid('query'), c.req.method === 'HEAD') as never)

  app.openapi(guarded(linkRoute, deps.auth), (c) => {
    const p = c.req.valid('query')
    const key = c.get('apiKey' as never) as ApiKey
    const { token, expires } = links.sign(key, p)
    const query = new URLSearchParams([...canonicalParams(p), ['token', token]])
    return c.json({ url: `/api/v1/audit/events/export/download?${query}`, expires_at: new Date(expires).toISOString() }, 200)
  })

  app.openapi(downloadRoute, (c) => {
    const { token, ...p } = c.req.valid('query')
    const head = c.req.method === 'HEAD'
    // HEAD does not spend the link: a download manager may ask before it gets
    const key = links.verify(token, p, !head)
    const ctx = getRequestAuditContext(c)
    if (ctx) ctx.operator = key.name
    return respond(c, p, head)
  })
  return app
}

function busy() {
  return new ApiError(503, BUSY, { 'Retry-After': '5' })
}
