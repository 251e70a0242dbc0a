import type { Hook } from '@hono/zod-openapi'
import { queryParams } from '@audit/core'
import type { Context } from 'hono'
import { ApiError, toDetail, validationError } from './errors.ts'

const LOC: Record<string, string> = { query: 'query', param: 'path', json: 'body', header: 'header', cookie: 'cookie', form: 'body' }

/** Renders every request-validation failure as FastAPI's 422. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hook serves every route
export const defaultHook: Hook<any, any, any, any> = (result, c) => {
  // the validator hands the hook what it validated, which tells a missing field from a wrong one
  if (!result.success) return validationError(c, toDetail(result.error.issues, [LOC[result.target] ?? result.target], (result as { data?: unknown }).data))
  return undefined
}

/** The query of a route that takes no parameters: any one given is refused with 422 `extra_forbidden`. */
export const NoQueryParams = queryParams({})

/**
 * For a handler not declared with `createRoute` (which validates its query
 * itself): throws a 422 naming every query parameter, since it takes none.
 */
export function refuseQueryParams(c: Context): void {
  const query = Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
  const parsed = NoQueryParams.safeParse(query)
  if (!parsed.success) throw new ApiError(422, toDetail(parsed.error.issues, ['query'], query))
}
