import { createRoute, z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi'
import type { Env, MiddlewareHandler } from 'hono'
import { ALLOWED, requireRole, type Access, type AuthOptions } from './auth.ts'
import { ErrorSchema, ValidationErrorSchema } from './schemas.ts'

/** The tags of the document, in the order a reader meets them. */
export const TAGS = {
  events: 'Record, list, read and delete audit events',
  export: 'Every matching event as one CSV or NDJSON download',
  stats: 'Counts, facets and a histogram of matching events',
  retention: 'Deleting events past their retention',
  trail: 'Proving the trail is complete: checkpoints, signatures, verification',
  keys: 'The API key in use',
  system: 'Health and metrics for operators; no key needed',
} as const
export type Tag = keyof typeof TAGS

const REQUEST_ID_REF = { $ref: '#/components/headers/X-Request-Id' }

const jsonError = (description: string, example: unknown, schema: z.ZodType = ErrorSchema) => ({
  description,
  content: { 'application/json': { schema, example } },
})

const retryAfter = (description: string) => ({ 'Retry-After': { description, schema: { type: 'integer', minimum: 1 }, example: 5 } }) as const

/** Error responses as the app really gives them, each with an example. */
export const ERRORS = {
  401: {
    ...jsonError('No API key, or one the server does not know', { detail: 'Not authenticated' }),
    headers: { 'WWW-Authenticate': { description: 'Always `Bearer`', schema: { type: 'string', const: 'Bearer' } } },
  },
  403: jsonError('The key is valid, but its role may not do this', { detail: 'Forbidden' }),
  404: jsonError('No event has this id', { detail: 'Event not found' }),
  413: {
    ...jsonError('The body is larger than AUDIT_MAX_BODY_BYTES (default 1 MiB); the connection is closed after the answer', {
      detail: 'Request body is larger than 1048576 bytes',
    }),
    headers: { Connection: { description: 'Always `close`', schema: { type: 'string', const: 'close' } } },
  },
  /** Invalid input, as FastAPI answers it: one entry per problem, each with its location, message and type. */
  422: (example: { loc: (string | number)[]; msg: string; type: string }) =>
    jsonError('Invalid input: one entry per problem, as FastAPI reports them (`loc`, `msg`, `type`)', { detail: [example] }, ValidationErrorSchema),
  500: jsonError('An unexpected error; the detail says nothing more (the server logs it)', { detail: 'Internal Server Error' }),
  /** The store cannot be reached: a read or write during a database outage. */
  503: {
    ...jsonError('The audit store cannot be reached; retry after `Retry-After` seconds', { detail: 'The audit store is unavailable; retry later' }),
    headers: retryAfter('Seconds to wait before retrying'),
  },
} as const

/** A query parameter the operation does not take: every route refuses those, so this example fits each of them. */
export const UNKNOWN_PARAMETER = { loc: ['query', 'colour'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }

export { retryAfter }

/**
 * `extra.<key>=<value>` as one parameter: an object whose properties are sent
 * as parameters of their own (`style: form`, `explode: true`), each name
 * `extra.` and a key of extra_info.
 */
const EXTRA_FILTERS = {
  name: 'extra',
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  description:
    '`extra.<key>=<value>`: only events whose extra_info has this key with this value, compared as text (`extra_info ->> key`). A key is 1 to 100 of `A-Z a-z 0-9 _ . : -`, given once; several keys must all match.',
  schema: {
    type: 'object',
    propertyNames: { pattern: '^extra\\.[A-Za-z0-9_.:-]{1,100}$' },
    additionalProperties: { type: 'string' },
  },
  example: { 'extra.symbol': 'AAPL' },
} as const

/** `not.extra.<key>=<value>`: the exclusion beside {@link EXTRA_FILTERS}, sent the same way. */
const NOT_EXTRA_FILTERS = {
  name: 'not.extra',
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  description:
    '`not.extra.<key>=<value>`: leaves out the events whose extra_info has this key with this value (compared as `extra.<key>` compares); events without the key stay. Like every `not.<field>` parameter, each one drops what the same positive filter would keep.',
  schema: {
    type: 'object',
    propertyNames: { pattern: '^not\\.extra\\.[A-Za-z0-9_.:-]{1,100}$' },
    additionalProperties: { type: 'string' },
  },
  example: { 'not.extra.symbol': 'AAPL' },
} as const

/** Whether a query schema takes `extra.<key>` filters: it does not refuse one as unknown. */
function takesExtraFilters(query: unknown): boolean {
  if (!(query instanceof z.ZodType)) return false
  const r = query.safeParse({ 'extra.symbol': 'AAPL' })
  return r.success || !r.error.issues.some((i) => i.code === 'unrecognized_keys')
}

/** Who may call an operation, in words, from the same table the auth check reads. */
export function accessSentence(access: Access): string {
  if (access === 'public') return 'No API key needed.'
  if (access === 'any') return 'Any valid API key.'
  return `Required role: \`${access}\` (a key of role ${ALLOWED[access].map((r) => `\`${r}\``).join(' or ')}).`
}

type Spec = Omit<RouteConfig, 'operationId' | 'tags' | 'summary' | 'description'> & {
  /** Who may call it: the auth check reads this (see {@link guarded}), and the document states it. */
  role: Access
  operationId: string
  tag: Tag
  summary: string
  description: string
}

/**
 * A route of the API with everything its users need in the document:
 * `operationId`, tag, summary, description, the role that may call it (in the
 * description and as `x-required-role`), the X-Request-Id header on every
 * response, and 401/403/500 (401/500 for any key; 500 for public routes).
 * Routes add the errors particular to them (404, 413, 422, 503).
 */
export function defineRoute<const S extends Spec>(spec: S) {
  const { role, tag, description, responses, ...rest } = spec
  const common = role === 'public' ? { 500: ERRORS[500] } : role === 'any' ? { 401: ERRORS[401], 500: ERRORS[500] } : { 401: ERRORS[401], 403: ERRORS[403], 500: ERRORS[500] }
  const all = { ...responses, ...common } as Record<string, { headers?: object }>
  return createRoute({
    ...rest,
    tags: [tag],
    description: `${description}\n\n${accessSentence(role)}`,
    'x-required-role': role,
    ...(role === 'public' ? { security: [] } : {}),
    parameters: [...(takesExtraFilters(spec.request?.query) ? [EXTRA_FILTERS, NOT_EXTRA_FILTERS] : []), { $ref: '#/components/parameters/X-Request-Id' }],
    responses: Object.fromEntries(Object.entries(all).map(([status, r]) => [status, { ...r, headers: { 'X-Request-Id': REQUEST_ID_REF, ...r.headers } }])),
  } as Omit<S, 'role' | 'tag'> & { tags: [Tag]; 'x-required-role': Access }) as Omit<S, 'role' | 'tag'> & { tags: [Tag]; 'x-required-role': S['role']; getRoutingPath(): string }
}

/** The auth check of a route: it reads the role the route declares, so the document and the check cannot differ. */
export function guard(route: { 'x-required-role': Access }, auth: AuthOptions): MiddlewareHandler {
  const role = route['x-required-role']
  return role === 'public' ? (_c, next) => next() : requireRole(role, auth)
}

/** The route with its auth check ({@link guard}) as its middleware. */
export function guarded<R extends { 'x-required-role': Access }>(route: R, auth: AuthOptions): R & { middleware: MiddlewareHandler } {
  return { ...route, middleware: guard(route, auth) }
}

/** Components the routes refer to, and the document's own fields. */
export function registerDocument<E extends Env>(app: OpenAPIHono<E>) {
  const registry = app.openAPIRegistry
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key as `Authorization: Bearer <key>`. Its role (ingest, read or admin) decides what it may do; each operation names the role it needs.',
  })
  registry.registerComponent('headers', 'X-Request-Id', {
    description:
      'The request id: the X-Request-Id the request gave when well-formed (1 to 200 of `A-Z a-z 0-9 . _ : - / + =`), else a new UUID. The server records it with the audit events it writes itself about the request (a refused key, a purge).',
    schema: { type: 'string', example: '0190a0b0-0000-7000-8000-000000000001' },
  })
  registry.registerComponent('parameters', 'X-Request-Id', {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'A request id to echo, and to record with the audit events the server writes about this request; a malformed one is replaced by a new UUID. Ingested events keep the `request_id` they give.',
    schema: { type: 'string', maxLength: 200, pattern: '^[A-Za-z0-9._:\\-/+=]+$' },
  })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Audit events API',
      version: '1.0.0',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
      description:
        'Record, query and export audit events: who did what, with what result, when. Every answer carries `X-Request-Id`. Errors have the shape FastAPI gives them: `{"detail": "..."}`, or for invalid input (422) `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.',
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    security: [{ apiKey: [] }],
  })
}
