import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'

/** One FastAPI-style validation error entry. */
export interface ErrorDetail {
  loc: (string | number)[]
  msg: string
  type: string
}

const TYPES: Record<string, (i: z.core.$ZodIssue) => string> = {
  too_big: (i) => ((i as z.core.$ZodIssueTooBig).origin === 'string' ? 'string_too_long' : (i as z.core.$ZodIssueTooBig).origin === 'array' ? 'too_long' : 'less_than_equal'),
  too_small: (i) => ((i as z.core.$ZodIssueTooSmall).origin === 'string' ? 'string_too_short' : (i as z.core.$ZodIssueTooSmall).origin === 'array' ? 'too_short' : 'greater_than_equal'),
  // every number this API reads is a whole number (limit, offset): pydantic says int_parsing
  invalid_type: (i) => (isMissing(i) ? 'missing' : (i as z.core.$ZodIssueInvalidType).expected === 'number' ? 'int_parsing' : `${(i as z.core.$ZodIssueInvalidType).expected}_type`),
  invalid_value: () => 'enum',
  invalid_format: (i) => `${(i as z.core.$ZodIssueInvalidStringFormat).format}_parsing`,
  invalid_union: () => 'union',
  unrecognized_keys: () => 'extra_forbidden',
  custom: (i) => String((i as z.core.$ZodIssueCustom).params?.type ?? 'value_error'),
}

// zod leaves the input out of issues; a missing field is an invalid_type that received undefined.
const isMissing = (i: z.core.$ZodIssue) => i.code === 'invalid_type' && i.message.endsWith('received undefined')

/** Zod issues as FastAPI's `detail` list, under a location prefix such as `['query']` or `['body']`. */
export function toDetail(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[]): ErrorDetail[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ loc: [...prefix, ...(i.path as (string | number)[]), k], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }))
    }
    const missing = isMissing(i)
    return [
      {
        loc: [...prefix, ...(i.path as (string | number)[])],
        msg: missing ? 'Field required' : i.message,
        type: (TYPES[i.code] ?? (() => 'value_error'))(i),
      },
    ]
  })
}

/** A 422 with FastAPI's body shape. */
export function validationError(c: Context, detail: ErrorDetail[]) {
  return c.json({ detail }, 422)
}

/** The one HTTP error type: a status and a `detail` (plus headers). */
export class ApiError extends HTTPException {
  constructor(
    status: 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503,
    readonly detail: string | ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message: typeof detail === 'string' ? detail : 'Validation error' })
  }
}
