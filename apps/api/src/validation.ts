import type { Hook } from '@hono/zod-openapi'
import { toDetail, validationError } from './errors.ts'

const LOC: Record<string, string> = { query: 'query', param: 'path', json: 'body', header: 'header', cookie: 'cookie', form: 'body' }

/** Renders every request-validation failure as FastAPI's 422. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hook serves every route
export const defaultHook: Hook<any, any, any, any> = (result, c) => {
  if (!result.success) return validationError(c, toDetail(result.error.issues, [LOC[result.target] ?? result.target]))
  return undefined
}
