import { OpenAPIHono, z } from '@hono/zod-openapi'
import { ROLES, type ApiKey, type AuthOptions } from '../auth.ts'
import { NoQueryParams, defaultHook } from '../validation.ts'
import { json } from '../schemas.ts'
import { ERRORS, UNKNOWN_PARAMETER, defineRoute, guarded } from '../openapi.ts'

const route = defineRoute({
  method: 'get',
  path: '/',
  role: 'any',
  operationId: 'getCurrentKey',
  tag: 'keys',
  summary: 'The key in use: its name and role',
  description: 'Lets a client check a key and learn what it may do. The name is recorded as the operator of what the key does.',
  request: { query: NoQueryParams },
  responses: {
    200: json(z.object({ name: z.string(), role: z.enum(ROLES) }).openapi('Me'), 'The key'),
    422: ERRORS[422](UNKNOWN_PARAMETER),
  },
})

/** GET /api/v1/audit/me: lets the page check a key and show what it may do. */
export function meRoutes(auth: AuthOptions) {
  const app = new OpenAPIHono({ defaultHook })
  app.openapi(guarded(route, auth), (c) => {
    const key = c.get('apiKey' as never) as ApiKey
    return c.json({ name: key.name, role: key.role }, 200)
  })
  return app
}
