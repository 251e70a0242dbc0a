import { OpenAPIHono, z } from '@hono/zod-openapi'
import { FilterParamsShape, extraFilters, queryParams, toFilters, type AuditStore, type EventFilters, type HistogramBucket } from '@audit/core'
import { defaultHook } from '../validation.ts'
import { json } from '../schemas.ts'
import type { AuthOptions } from '../auth.ts'
import { ERRORS, defineRoute, guarded } from '../openapi.ts'

const StatsParams = queryParams(
  {
    ...FilterParamsShape,
    bucket: z.enum(['hour', 'day']).optional().describe('Histogram bucket; default hour for ranges up to 2 days, day beyond'),
    group_by: z
      .string()
      .regex(/^extra\.[A-Za-z0-9_.:-]{1,100}(,extra\.[A-Za-z0-9_.:-]{1,100}){0,9}$/, 'group_by must be extra.<key>, or up to 10 of them separated by commas')
      .optional()
      .describe(
        'extra.<key>: also answer the 50 most frequent values of that extra_info key; extra.<a>,extra.<b>,… (up to 10): the 50 most frequent combinations of their values, over the events that have at least one of them',
      ),
  },
  { extra: true },
)

const Counts = z.record(z.string(), z.number().int())
const StatsSchema = z
  .object({
    total: z.number().int(),
    by_result: Counts,
    by_operation_type: Counts,
    by_source: Counts,
    by_severity: Counts,
    histogram: z.object({
      bucket: z.enum(['hour', 'day']),
      points: z.array(z.object({ start: z.string(), success: z.number().int(), failure: z.number().int(), warning: z.number().int() })),
    }),
    groups: z
      .array(
        z.union([
          z.object({ value: z.string().nullable(), count: z.number().int() }),
          z.object({ values: z.record(z.string(), z.string().nullable()), count: z.number().int() }),
        ]),
      )
      .optional()
      .describe('With one group_by key: {value, count}; with several: {values: {key: value}, count}'),
  })
  .openapi('AuditStats')

const route = defineRoute({
  method: 'get',
  path: '/',
  role: 'read',
  operationId: 'getStats',
  tag: 'stats',
  summary: 'Statistics of matching events',
  description:
    'For the events that match the filters: the total, counts by result, operation type, source and severity, a histogram of results by hour or day, and with `group_by=extra.<key>` the 50 most frequent values of that extra_info key (several keys: their combinations).',
  request: { query: StatsParams },
  responses: {
    200: json(StatsSchema, 'Counts, facets and a histogram'),
    422: ERRORS[422]({ loc: ['query', 'bucket'], msg: "Input should be 'hour' or 'day'", type: 'enum' }),
    503: ERRORS[503],
  },
})

const TWO_DAYS = 2 * 86_400_000

/** Hour buckets up to 2 days of range, day buckets beyond (and when the range has no start). */
export function bucketFor(f: EventFilters, now = Date.now()): HistogramBucket {
  if (!f.start_date) return 'day'
  const end = f.end_date ? Date.parse(f.end_date) : now
  return end - Date.parse(f.start_date) <= TWO_DAYS ? 'hour' : 'day'
}

/** GET /api/v1/audit/stats */
export function statsRoutes(deps: { store: AuditStore; auth: AuthOptions }) {
  const app = new OpenAPIHono({ defaultHook })
  app.openapi(guarded(route, deps.auth), async (c) => {
    const p = c.req.valid('query')
    const filters = toFilters(p, extraFilters(p))
    const stats = await deps.store.stats({
      filters,
      bucket: p.bucket ?? bucketFor(filters),
      ...(p.group_by ? { groupBy: p.group_by.split(',').map((k) => k.slice('extra.'.length)) } : {}),
    })
    return c.json(stats, 200)
  })
  return app
}
