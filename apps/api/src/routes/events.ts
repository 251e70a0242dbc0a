import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi'
import {
  EventInputSchema,
  FilterParamsShape,
  ListParamsSchema,
  deleteInChunks,
  extraFilters,
  newEventId,
  queryParams,
  severityForResult,
  toFilters,
  type AuditLogger,
  type AuditStore,
  type EventRow,
} from '@audit/core'
import { forwardedForInfo, getRequestAuditContext } from '@audit/core/hono'
import { ApiError, toDetail, validationError, type ErrorDetail } from '../errors.ts'
import { NoQueryParams, defaultHook, refuseQueryParams } from '../validation.ts'
import { EventPageSchema, EventSchema, IngestBatchSchema, IngestBody, IngestResponse, ErrorSchema, errorResponses, json, MAX_BATCH } from '../schemas.ts'
import { requireRole, type AuthOptions } from '../auth.ts'

export interface EventsDeps {
  audit: AuditLogger
  store: AuditStore
  auth: AuthOptions
  countCap: number
}

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'List events',
  description: 'Events that match every filter, newest first by default, one page at a time. `extra.<key>=<value>` filters on a key of extra_info.',
  request: { query: ListParamsSchema },
  responses: { 200: json(EventPageSchema, 'One page of events and the total that match'), ...errorResponses },
})

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'Get one event',
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) }), query: NoQueryParams },
  responses: { 200: json(EventSchema, 'The event'), 404: json(ErrorSchema, 'Event not found'), ...errorResponses },
})

const ingestRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Record events',
  description: `One event or a batch of up to ${MAX_BATCH}. One invalid event rejects the whole request and nothing is written. 202 when queued (async mode), 201 when written (sync mode).`,
  request: { body: { content: { 'application/json': { schema: IngestBody } }, required: true } },
  responses: {
    201: json(IngestResponse, 'Written (sync mode)'),
    202: json(IngestResponse, 'Accepted into the queue (async mode)'),
    413: json(ErrorSchema, 'Body larger than AUDIT_MAX_BODY_BYTES'),
    503: json(ErrorSchema, 'The queue has no room for the batch, or the store is unavailable; retry later'),
    ...errorResponses,
  },
})

/** /api/v1/audit/events */
export function eventsRoutes(deps: EventsDeps) {
  const app = new OpenAPIHono({ defaultHook })
  const read = requireRole('read', deps.auth)
  const ingest = requireRole('ingest', deps.auth)
  const admin = requireRole('admin', deps.auth)

  app.use(ingestRoute.path, async (c, next) => {
    if (c.req.method === 'POST') return ingest(c, next)
    if (c.req.method === 'DELETE') return admin(c, next)
    return read(c, next)
  })
  app.use('/:id', read)
  // ingest is not declared with createRoute, so its (empty) query is checked here, after auth
  app.use(ingestRoute.path, async (c, next) => {
    if (c.req.method === 'POST') refuseQueryParams(c)
    await next()
  })

  app.openapi(listRoute, async (c) => {
    const p = c.req.valid('query')
    const extra = extraFilters(p)
    const page = await deps.store.queryEvents({
      filters: toFilters(p, extra),
      limit: p.limit,
      offset: p.offset,
      order: p.order,
      countCap: deps.countCap,
      ...(p.after ? { after: p.after } : {}),
    })
    const seen = p.offset + page.events.length
    return c.json(
      {
        events: page.events,
        total: page.total,
        total_exact: page.totalExact,
        limit: p.limit,
        offset: p.offset,
        has_more: page.totalExact ? seen < page.total : page.events.length === p.limit,
      },
      200,
    )
  })

  app.openapi(getRoute, async (c) => {
    const event = await deps.store.getEvent(c.req.valid('param').id)
    if (!event) throw new ApiError(404, 'Event not found')
    return c.json(event, 200)
  })

  const PurgeParams = queryParams(
    {
      ...FilterParamsShape,
      start_date: FilterParamsShape.start_date.unwrap().describe('Required: inclusive lower bound'),
      end_date: FilterParamsShape.end_date.unwrap().describe('Required: inclusive upper bound'),
      confirm: z.literal('true', { error: 'confirm=true is required: deleted events cannot be recovered' }),
    },
    { extra: true },
  )
  const purgeRoute = createRoute({
    method: 'delete',
    path: '/',
    summary: 'Delete events (admin)',
    description: 'Deletes every event in the range that matches the filters, in bounded chunks. Needs `confirm=true`. Recorded as a warning audit event.',
    request: { query: PurgeParams },
    responses: { 200: json(z.object({ deleted: z.number().int() }).openapi('PurgeResult'), 'How many were deleted'), ...errorResponses },
  })
  app.openapi(purgeRoute, async (c) => {
    const { confirm: _, ...p } = c.req.valid('query')
    const filters = toFilters(p, extraFilters(p))
    const deleted = await deleteInChunks(deps.store, filters)
    await deps.audit.logEvent({
      source: 'system',
      operationType: 'audit_purge',
      result: 'warning',
      severity: 'warning',
      message: `Deleted ${deleted} audit events`,
      extraInfo: { filters, deleted, ...forwardedForInfo(getRequestAuditContext(c)) },
    })
    return c.json({ deleted }, 200)
  })

  app.openAPIRegistry.registerPath(ingestRoute)
  app.post('/', async (c) => {
    const ct = c.req.header('content-type') ?? ''
    if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(ct)) {
      return validationError(c, [{ loc: ['body'], msg: `Content-Type must be application/json, got "${ct || 'none'}"`, type: 'content_type' }])
    }
    const raw = await c.req.text()
    let body: unknown
    try {
      body = JSON.parse(raw)
    } catch (e) {
      const pos = /position (\d+)/.exec((e as Error).message)?.[1]
      return validationError(c, [{ loc: ['body', ...(pos ? [Number(pos)] : [])], msg: `JSON decode error: ${(e as Error).message}`, type: 'json_invalid' }])
    }
    const batch = body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body
    const parsed = batch ? IngestBatchSchema.safeParse(body) : EventInputSchema.safeParse(body)
    if (!parsed.success) return validationError(c, toDetail(parsed.error.issues, ['body']))
    const now = new Date().toISOString()
    const events = batch ? (parsed.data as z.infer<typeof IngestBatchSchema>).events : [parsed.data as z.infer<typeof EventInputSchema>]
    const rows = events.map(
      (e) => ({ ...e, id: e.id ?? newEventId(), timestamp: e.timestamp ? new Date(e.timestamp).toISOString() : now, severity: e.severity ?? severityForResult(e.result) }) as EventRow,
    )
    let ok: boolean
    try {
      ok = await deps.audit.ingest(rows)
    } catch (err) {
      if (deps.store.isDataError(err)) {
        const detail: ErrorDetail[] = [{ loc: ['body'], msg: `The database refused the events: ${(err as Error).message}`, type: 'value_error' }]
        throw new ApiError(422, detail)
      }
      throw new ApiError(503, 'The audit store is unavailable; retry later', { 'Retry-After': '1' })
    }
    if (!ok) throw new ApiError(503, 'The audit queue is full; retry later', { 'Retry-After': '1' })
    return c.json({ accepted: rows.length, ids: rows.map((r) => r.id) }, deps.audit.async ? 202 : 201)
  })

  return app
}
