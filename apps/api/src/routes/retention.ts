import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { AuditLogger, AuditStore } from '@audit/core'
import { timingSafeEqual, createHash } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { bearer, type AuthOptions } from '../auth.ts'
import { ERRORS, UNKNOWN_PARAMETER, defineRoute, guard } from '../openapi.ts'
import { NoQueryParams, defaultHook } from '../validation.ts'
import { json } from '../schemas.ts'
import { runRetention, type RetentionPolicy } from '../retention.ts'

const Report = z
  .object({
    deleted: z.record(z.string(), z.number().int()),
    total: z.number().int(),
    duration_ms: z.number(),
  })
  .openapi('RetentionReport')

const route = defineRoute({
  method: 'post',
  path: '/run',
  role: 'admin',
  operationId: 'runRetention',
  tag: 'retention',
  summary: 'Apply the retention policy now',
  description: 'Deletes events older than their severity allows (AUDIT_RETENTION_DAYS). A scheduler may call it with `Authorization: Bearer $CRON_SECRET` instead of an admin key.',
  request: { query: NoQueryParams },
  responses: {
    200: json(Report, 'Per-severity counts and the duration'),
    422: ERRORS[422](UNKNOWN_PARAMETER),
    503: ERRORS[503],
  },
})

const digest = (s: string) => createHash('sha256').update(s).digest()

/** POST /api/v1/audit/retention/run */
export function retentionRoutes(deps: { store: AuditStore; audit: AuditLogger; auth: AuthOptions; policy: RetentionPolicy; cronSecret: string | undefined }) {
  const app = new OpenAPIHono({ defaultHook })
  // the route's role, or the scheduler's secret
  const admin = guard(route, deps.auth)
  const middleware: MiddlewareHandler = async (c, next) => {
    const token = bearer(c)
    if (deps.cronSecret && token && timingSafeEqual(digest(token), digest(deps.cronSecret))) return next()
    return admin(c, next)
  }
  app.openapi({ ...route, middleware }, async (c) => c.json(await runRetention(deps.store, deps.audit, deps.policy), 200))
  return app
}
