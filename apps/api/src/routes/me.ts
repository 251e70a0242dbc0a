import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi'
import { requireRole, type ApiKey, type AuthOptions } from '../auth.ts'
import { NoQueryParams, defaultHook } from '../validation.ts'
import { errorResponses, json } from '../schemas.ts'

const route = createRoute({
  method: 'get',
  path: '/',
  summary: 'The key in use: its name and role',
  request: { query: NoQueryParams },
  responses: { 200: json(z.object({ name: z.string(), role: z.enum(['ingest', 'read', 'admin']) }).openapi('Me'), 'The key'), ...errorResponses },
})

/** GET /api/v1/audit/me: lets the page check a key and show what it may do. */
export function meRoutes(auth: AuthOptions) {
  const app = new OpenAPIHono({ defaultHook })
  app.use('*', requireRole('any', auth))
  app.openapi(route, (c) => {
    const key = c.get('apiKey' as never) as ApiKey
    return c.json({ name: key.name, role: key.role }, 200)
  })
  return app
}
