import { OpenAPIHono, z } from '@hono/zod-openapi'
import { STORE_KINDS, type AuditLogger, type AuditStore, type StoreKind } from '@audit/core'
import type { Metrics } from '../metrics.ts'
import { defineRoute } from '../openapi.ts'
import { json } from '../schemas.ts'
import { defaultHook } from '../validation.ts'

const count = z.number().int().min(0)
const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']).describe('degraded when the database did not answer'),
    store: z.enum(STORE_KINDS.filter((k): k is StoreKind => k !== 'auto') as [StoreKind, ...StoreKind[]]),
    database: z.enum(['ok', 'unavailable']),
    database_ms: z.number().describe('How long the database took to answer (or to fail), in milliseconds'),
    logging: z.object({ enabled: z.boolean(), async: z.boolean() }),
    queue: z
      .object({
        enqueued: count,
        written: count,
        failed: count,
        retried: count,
        dropped: count,
        rejected: count,
        queueDepth: count,
        lastFlushMs: z.number(),
      })
      .describe('The audit queue since start (the same figures as /metrics)'),
  })
  .openapi('Health')

const healthRoute = defineRoute({
  method: 'get',
  path: '/health',
  role: 'public',
  operationId: 'getHealth',
  tag: 'system',
  summary: 'Health of the server and its database',
  description: 'Asks the database one cheap question (at most 2 s). No event data.',
  responses: {
    200: json(HealthSchema, 'The database answered'),
    503: json(HealthSchema, 'The database did not answer within 2 s (status `degraded`)'),
  },
})

const metricsRoute = defineRoute({
  method: 'get',
  path: '/metrics',
  role: 'public',
  operationId: 'getMetrics',
  tag: 'system',
  summary: 'Prometheus metrics',
  description: 'The audit queue figures, batch write durations and HTTP request durations by route, in the Prometheus text format. No event data.',
  responses: {
    200: {
      description: 'Prometheus text exposition format 0.0.4',
      content: { 'text/plain': { schema: z.string(), example: '# HELP audit_queue_depth Events waiting in the audit queue or being written\n# TYPE audit_queue_depth gauge\naudit_queue_depth 0\n' } },
    },
  },
})

/** /health and /metrics: no key needed, no event data in either. */
export function systemRoutes(deps: { audit: AuditLogger; store: AuditStore; metrics: Metrics }) {
  const app = new OpenAPIHono({ defaultHook })
  app.openapi(healthRoute, async (c) => {
    const t0 = performance.now()
    let database: 'ok' | 'unavailable' = 'ok'
    try {
      await Promise.race([
        deps.store.getEvent('00000000-0000-0000-0000-000000000000'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ])
    } catch {
      database = 'unavailable'
    }
    const body = {
      status: database === 'ok' ? ('ok' as const) : ('degraded' as const),
      store: deps.store.kind,
      database,
      database_ms: Math.round((performance.now() - t0) * 100) / 100,
      logging: { enabled: deps.audit.enabled, async: deps.audit.async },
      queue: deps.audit.stats(),
    }
    return database === 'ok' ? c.json(body, 200) : c.json(body, 503)
  })
  app.openapi(metricsRoute, async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType)
    return c.body(await deps.metrics.registry.metrics(), 200) as never
  })
  return app
}
