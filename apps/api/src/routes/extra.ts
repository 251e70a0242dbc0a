import { extraFilters } from '@audit/core'
import type { Context } from 'hono'
import { ApiError } from '../errors.ts'

/** The `extra.<key>=<value>` filters of a request; 422 for a key that is not a plain name. */
export function checkExtraKeys(c: Context): Record<string, string> | undefined {
  const { extra, badKeys } = extraFilters(c.req.queries() ?? {})
  if (badKeys.length > 0) {
    throw new ApiError(
      422,
      badKeys.map((k) => ({ loc: ['query', k], msg: 'extra_info key must match [A-Za-z0-9_.:-]{1,100}', type: 'value_error' })),
    )
  }
  return extra
}
