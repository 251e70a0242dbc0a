import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi'
import type { Context, Env, Next } from 'hono'
import type { AuditLogger, AuditStore } from '@audit/core'
import { timingSafeEqual, createHash } from 'node:crypto'
import { bearer, requireRole, type AuthOptions } from '../auth.ts'
import { NoQueryParams, defaultHook } from '../validation.ts'
import { errorResponses, json } from '../schemas.ts'
import { runRetention, type RetentionPolicy } from '../retention.ts'

const Report = z
  .object({
    deleted: z.record(z.string(), z.number().int()),
    total: z.number().int(),
    duration_ms: z.number(),
  })
  .openapi('RetentionReport')

const route = createRoute({
  method: 'post',
  path: '/run',
  summary: 'Apply the retention policy now',
  description: 'Deletes events older than their severity allows (AUDIT_RETENTION_DAYS). `Authorization: Bearer $CRON_SECRET`, or an admin key.',
  request: { query: NoQueryParams },
  responses: { 200: json(Report, 'Per-severity counts and the duration'), ...errorResponses },
})

const digest = (s: string) => createHash('sha256').update(s).digest()

/** POST /api/v1/audit/retention/run */
export function retentionRoutes(deps: { store: AuditStore; audit: AuditLogger; auth: AuthOptions; policy: RetentionPolicy; cronSecret: string | undefined }) {
  const app = new OpenAPIHono({ defaultHook })
  const admin = requireRole('admin', deps.auth)
  app.use('*', async (c: Context<Env, string>, next: Next) => {
    const token = bearer(c)
    if (deps.cronSecret && token && timingSafeEqual(digest(token), digest(deps.cronSecret))) return next()
    return admin(c, next)
  })
  app.openapi(route, async (c) => c.json(await runRetention(deps.store, deps.audit, deps.policy), 200))
  return app
}
