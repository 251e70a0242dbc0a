import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi'
import { FilterParamsShape, eventsToCsv, eventsToNdjson, extraFilters, queryParams, toFilters, type AuditStore, type EventFilters, type SortOrder } from '@audit/core'
import { ApiError } from '../errors.ts'
import { defaultHook } from '../validation.ts'
import { errorResponses } from '../schemas.ts'
import { requireRole, type AuthOptions } from '../auth.ts'

const ExportParams = queryParams(
  {
    ...FilterParamsShape,
    format: z.enum(['csv', 'ndjson']).default('csv').describe('csv (every value quoted, formula cells neutralised) or ndjson'),
    order: z.enum(['desc', 'asc']).default('desc'),
  },
  { extra: true },
)

const route = createRoute({
  method: 'get',
  path: '/',
  summary: 'Export every matching event',
  description:
    'Streams every event that matches the filters as an attachment, with flat memory (on a Postgres server the database writes the CSV with COPY; elsewhere keyset pages). CSV: a header line, then every value quoted, null as an empty unquoted field, LF line ends, formula cells prefixed with an apostrophe. `X-Total-Count` says how many rows follow. Refused with 422 past AUDIT_EXPORT_MAX_ROWS.',
  request: { query: ExportParams },
  responses: {
    200: {
      description: 'The events, streamed',
      content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
    },
    ...errorResponses,
  },
})

/** A file name that carries the range, e.g. audit-events_2026-11-16T00-00-00Z_2026-11-23T00-00-00Z.csv */
export function exportFileName(f: EventFilters, ext: string): string {
  const part = (s: string | undefined, fallback: string) => (s ? s.replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-') : fallback)
  return `audit-events_${part(f.start_date, 'beginning')}_${part(f.end_date, 'now')}.${ext}`
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
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return
      const page = await store.queryEvents({ filters, limit: chunk, order, withTotal: false, ...(after ? { after } : {}) })
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
  })
}

/** GET /api/v1/audit/events/export */
export function exportRoutes(deps: { store: AuditStore; auth: AuthOptions; maxRows: number; chunkRows?: number }) {
  const app = new OpenAPIHono({ defaultHook })
  const chunk = Math.min(deps.chunkRows ?? 1000, deps.store.maxPageSize ?? Infinity)
  app.use('*', requireRole('read', deps.auth))
  app.openapi(route, async (c) => {
    const p = c.req.valid('query')
    const filters = toFilters(p, extraFilters(p))
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
    const body = csv && deps.store.exportCsv ? deps.store.exportCsv(filters, p.order) : pagedExport(deps.store, filters, p.order, csv, chunk)
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': `attachment; filename="${exportFileName(filters, csv ? 'csv' : 'ndjson')}"`,
        'X-Total-Count': String(capped.total),
        'Cache-Control': 'no-store',
      },
    }) as never
  })
  return app
}
