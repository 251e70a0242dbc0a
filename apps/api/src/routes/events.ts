import { OpenAPIHono, z } from '@hono/zod-openapi'
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
  uuid7Time,
  type AuditLogger,
  type AuditStore,
} from '@audit/core'
import { forwardedForInfo, getRequestAuditContext } from '@audit/core/hono'
import { ApiError, toDetail, validationError, type ErrorDetail } from '../errors.ts'
import { NoQueryParams, defaultHook, refuseQueryParams } from '../validation.ts'
import { EventPageSchema, EventSchema, IngestBatchSchema, IngestBody, IngestResponse, ErrorSchema, json, MAX_BATCH } from '../schemas.ts'
import type { AuthOptions } from '../auth.ts'
import { ERRORS, defineRoute, guard, guarded, retryAfter } from '../openapi.ts'

export interface EventsDeps {
  audit: AuditLogger
  store: AuditStore
  auth: AuthOptions
  countCap: number
}

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  role: 'read',
  operationId: 'listEvents',
  tag: 'events',
  summary: 'List events',
  description: 'Events that match every filter, newest first by default, one page at a time. `extra.<key>=<value>` filters on a key of extra_info.',
  request: { query: ListParamsSchema },
  responses: {
    200: json(EventPageSchema, 'One page of events and the total that match'),
    422: ERRORS[422]({ loc: ['query', 'limit'], msg: 'Input should be a valid integer, unable to parse string as an integer', type: 'int_parsing' }),
    503: ERRORS[503],
  },
})

const getRoute = defineRoute({
  method: 'get',
  path: '/{id}',
  role: 'read',
  operationId: 'getEvent',
  tag: 'events',
  summary: 'Get one event',
  description: 'The event with this id.',
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0190a0b0-0000-7000-8000-000000000001' }) }), query: NoQueryParams },
  responses: {
    200: json(EventSchema, 'The event'),
    404: ERRORS[404],
    422: ERRORS[422]({
      loc: ['path', 'id'],
      msg: 'Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1',
      type: 'uuid_parsing',
    }),
    503: ERRORS[503],
  },
})

const UNAVAILABLE = {
  full: 'The audit writers are saturated: there was no room for these events within AUDIT_INGEST_WAIT_MS. None of them was written; retry after Retry-After seconds',
  timeout: 'The events were not committed within AUDIT_INGEST_WAIT_MS (the database is slow or unavailable). None of them was written, nor will be; retry after Retry-After seconds',
  closed: 'The server is shutting down. None of the events was written; retry after Retry-After seconds',
} as const

const ingestRoute = defineRoute({
  method: 'post',
  path: '/',
  role: 'ingest',
  operationId: 'ingestEvents',
  tag: 'events',
  summary: 'Record events',
  description: [
    `One event or a batch of up to ${MAX_BATCH}: all of them are written, or none.`,
    '201 once every event of the request is committed to the database. Concurrent requests share writes (group commit): their events go to the database in the same batches, but one request\'s events are never split across batches.',
    'The request waits at most AUDIT_INGEST_WAIT_MS (default 5 s) for room in the queue and then for its commit. Past that it answers 503 with `Retry-After` (seconds: the queue\'s drain time at the recent write rate, or the next retry while the database is failing), and none of its events is written, then or later: they are withdrawn. If a write holding them is under way at that moment, the answer waits for that write (201 if it committed).',
    'One invalid event rejects the request with 422 and nothing is written. That includes an event the database itself refuses (a constraint or trigger): the 422 says the database\'s reason, and the event\'s index when its error names the event; none of the request\'s events is written.',
    'With `Prefer: respond-async` (RFC 7240) the answer is 202 with `Preference-Applied: respond-async` as soon as the events are queued (fire-and-forget: they are written within AUDIT_FLUSH_INTERVAL_MS; a later refusal by the database is only logged).',
    'Re-sending events with the same ids writes nothing twice; send your own `id`s to retry safely after a lost answer.',
  ].join('\n\n'),
  request: {
    headers: z.object({
      prefer: z.string().optional().openapi({ description: '`respond-async`: answer 202 once queued instead of 201 once committed', example: 'respond-async' }),
    }),
    body: { content: { 'application/json': { schema: IngestBody } }, required: true },
  },
  responses: {
    201: json(IngestResponse, 'Every event is committed'),
    202: {
      ...json(IngestResponse, 'Queued, not yet written (`Prefer: respond-async`)'),
      headers: { 'Preference-Applied': { schema: { type: 'string', example: 'respond-async' }, description: 'respond-async' } },
    },
    413: ERRORS[413],
    422: ERRORS[422]({ loc: ['body', 'result'], msg: 'Field required', type: 'missing' }),
    503: {
      description:
        'No room, or no commit, within AUDIT_INGEST_WAIT_MS (or the server is shutting down): none of the events was written, nor will be; retry after `Retry-After` seconds. Also when logging is disabled (AUDIT_LOGGING_ENABLED=false), then without `Retry-After`.',
      content: { 'application/json': { schema: ErrorSchema, example: { detail: UNAVAILABLE.full } } },
      headers: retryAfter("Seconds to wait before retrying: the queue's drain time at the recent write rate, or the next retry while the database is failing"),
    },
  },
})

/** True when a Prefer header (RFC 7240) asks for respond-async. */
function prefersRespondAsync(prefer: string | undefined): boolean {
  if (!prefer) return false
  return prefer.split(',').some((p) => p.split(/[=;]/, 1)[0]?.trim().toLowerCase() === 'respond-async')
}


/** /api/v1/audit/events */
export function eventsRoutes(deps: EventsDeps) {
  const app = new OpenAPIHono({ defaultHook })

  app.openapi(guarded(listRoute, deps.auth), async (c) => {
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

  app.openapi(guarded(getRoute, deps.auth), async (c) => {
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
  const purgeRoute = defineRoute({
    method: 'delete',
    path: '/',
    role: 'admin',
    operationId: 'deleteEvents',
    tag: 'events',
    summary: 'Delete events',
    description: 'Deletes every event in the range that matches the filters, in bounded chunks. Needs `confirm=true`. Recorded as a warning audit event.',
    request: { query: PurgeParams },
    responses: {
      200: json(z.object({ deleted: z.number().int() }).openapi('PurgeResult'), 'How many were deleted'),
      422: ERRORS[422]({ loc: ['query', 'confirm'], msg: 'Field required', type: 'missing' }),
      503: ERRORS[503],
    },
  })
  app.openapi(guarded(purgeRoute, deps.auth), async (c) => {
    const { confirm: _, ...p } = c.req.valid('query')
    const filters = toFilters(p, extraFilters(p))
    const by = getRequestAuditContext(c)?.operator ?? 'an admin key'
    const deleted = await deleteInChunks(deps.store, filters, undefined, `purge by ${by}: ${JSON.stringify(filters)}`)
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

  // not declared with app.openapi: the body is read and validated here, to answer FastAPI's 422 for bad JSON too
  app.openAPIRegistry.registerPath(ingestRoute)
  app.post('/', guard(ingestRoute, deps.auth), async (c) => {
    refuseQueryParams(c)
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
    if (!parsed.success) return validationError(c, toDetail(parsed.error.issues, ['body'], body))
    const received = Date.now()
    const now = new Date(received).toISOString()
    const events = batch ? (parsed.data as z.infer<typeof IngestBatchSchema>).events : [parsed.data as z.infer<typeof EventInputSchema>]
    // An event is recognised when re-sent by its (id, timestamp), the key of
    // the partitioned table: one with its own id needs a time that is the
    // same on every send, its own or its UUIDv7 id's.
    const times = events.map((e) => e.timestamp ?? idTime(e.id, received))
    const unstamped = events.flatMap((e, i): ErrorDetail[] =>
      e.id !== undefined && times[i] === undefined
        ? [{ loc: batch ? ['body', 'events', i, 'timestamp'] : ['body', 'timestamp'], msg: 'Field required when the event has its own id that is not a UUIDv7 made within a day: a re-sent event is recognised by its id and time', type: 'missing' }]
        : [],
    )
    if (unstamped.length > 0) return validationError(c, unstamped)
    const rows = events.map(
      (e, i) => ({ ...e, id: e.id ?? newEventId(), timestamp: times[i] ?? now, severity: e.severity ?? severityForResult(e.result) }),
    )
    const outcome = await deps.audit.ingest(rows, { respondAsync: prefersRespondAsync(c.req.header('prefer')) })
    switch (outcome.status) {
      case 'written':
        return c.json({ accepted: rows.length, ids: rows.map((r) => r.id) }, 201)
      case 'queued':
        c.header('Preference-Applied', 'respond-async')
        return c.json({ accepted: rows.length, ids: rows.map((r) => r.id) }, 202)
      case 'refused': {
        const one = outcome.index !== null
        const loc = one && batch ? ['body', 'events', outcome.index as number] : batch ? ['body', 'events'] : ['body']
        const what = one ? (batch ? `event ${outcome.index}` : 'the event') : 'an event of this request'
        const rest = rows.length > 1 ? ` None of the request's ${rows.length} events was written.` : ' It was not written.'
        const detail: ErrorDetail[] = [{ loc, msg: `The database refused ${what}: ${outcome.reason}.${rest}`, type: 'value_error' }]
        throw new ApiError(422, detail)
      }
      case 'unavailable':
        throw new ApiError(503, UNAVAILABLE[outcome.cause], { 'Retry-After': String(outcome.retryAfterSeconds) })
      case 'disabled':
        throw new ApiError(503, 'Audit logging is disabled on this server (AUDIT_LOGGING_ENABLED=false): nothing was written')
    }
  })

  return app
}

/**
 * The time of a client's UUIDv7 id when it was made within a day of
 * `received`, as the event's time when the client sent none: a re-sent
 * request then carries the same (id, timestamp), the key of the partitioned
 * table, where stamping each arrival would store the event twice.
 */
function idTime(id: string | undefined, received: number): string | undefined {
  const t = id === undefined ? null : uuid7Time(id)
  return t !== null && Math.abs(received - t) <= 86_400_000 ? new Date(t).toISOString() : undefined
}
