import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'

/** One FastAPI-style validation error entry. */
export interface ErrorDetail {
  loc: (string | number)[]
  msg: string
  type: string
}

type Issue = z.core.$ZodIssue
type Entry = Pick<ErrorDetail, 'msg' | 'type'>

/** The value an issue is about, in the input that was validated, and whether its field was left out of an object. */
function locate(input: unknown, path: readonly PropertyKey[]): { value: unknown; absent: boolean } {
  let parent: unknown
  let value: unknown = input
  for (const key of path) {
    parent = value
    value = parent !== null && typeof parent === 'object' ? (parent as Record<PropertyKey, unknown>)[key] : undefined
  }
  const absent = path.length > 0 && value === undefined && parent !== null && typeof parent === 'object' && !Array.isArray(parent)
  return { value, absent }
}

/** pydantic's "'a', 'b' or 'c'". */
function oneOf(values: readonly unknown[]): string {
  const quoted = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '')
}

const plural = (n: number | bigint, one: string) => `${n} ${one}${Number(n) === 1 ? '' : 's'}`
const INT_PARSING: Entry = { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' }
const TYPE_NAMES: Record<string, Entry> = {
  string: { type: 'string_type', msg: 'Input should be a valid string' },
  int: { type: 'int_type', msg: 'Input should be a valid integer' },
  number: { type: 'float_type', msg: 'Input should be a valid number' },
  boolean: { type: 'bool_type', msg: 'Input should be a valid boolean' },
  array: { type: 'list_type', msg: 'Input should be a valid list' },
  record: { type: 'dict_type', msg: 'Input should be a valid dictionary' },
  object: { type: 'model_attributes_type', msg: 'Input should be a valid dictionary or object to extract fields from' },
}

/**
 * One zod issue as pydantic v2 reports it (the `type` and `msg` FastAPI
 * answers): a field left out is `missing` ("Field required"), a number that is
 * not one `int_parsing`, and so on. Messages the schema wrote itself (a
 * pattern, a custom check) are kept; zod's generic ones are replaced.
 */
function pydantic(i: Issue, input: unknown): Entry {
  const { value, absent } = locate(input, i.path)
  switch (i.code) {
    case 'invalid_type': {
      if (absent) return { type: 'missing', msg: 'Field required' }
      if (i.expected === 'int' || i.expected === 'number') {
        // query parameters are text: text that is not a whole number (the schema reads those) is int_parsing
        if (typeof value === 'string') return INT_PARSING
        if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' }
        return TYPE_NAMES.int as Entry
      }
      return TYPE_NAMES[i.expected] ?? { type: `${i.expected}_type`, msg: `Input should be a valid ${i.expected}` }
    }
    case 'invalid_value':
      if (absent) return { type: 'missing', msg: 'Field required' }
      // a message of the schema's own (e.g. what confirm=true is for) says more than the list of values
      return { type: 'enum', msg: i.message.startsWith('Invalid option') || i.message.startsWith('Invalid input') ? `Input should be ${oneOf(i.values)}` : i.message }
    case 'too_small':
    case 'too_big': {
      const small = i.code === 'too_small'
      const bound = small ? (i).minimum : (i).maximum
      const inclusive = i.inclusive !== false
      if (i.origin === 'number' || i.origin === 'int' || i.origin === 'bigint') {
        const type = `${small ? 'greater' : 'less'}_than${inclusive ? '_equal' : ''}`
        return { type, msg: `Input should be ${small ? 'greater' : 'less'} than ${inclusive ? 'or equal to ' : ''}${bound}` }
      }
      if (i.origin === 'array') {
        const n = Array.isArray(value) ? value.length : 0
        return { type: small ? 'too_short' : 'too_long', msg: `List should have at ${small ? 'least' : 'most'} ${plural(bound, 'item')} after validation, not ${n}` }
      }
      // a bound on something that is not text (extra_info's size in bytes) keeps the schema's message; an item of
      // a list parameter (`source=a,b`) is text the input does not hold as such
      const text = typeof value === 'string' || value === undefined
      const msg = text ? `String should have at ${small ? 'least' : 'most'} ${plural(bound, 'character')}` : i.message
      return { type: small ? 'string_too_short' : 'string_too_long', msg }
    }
    case 'invalid_format':
      if (i.format === 'uuid') return { type: 'uuid_parsing', msg: `Input should be a valid UUID, ${uuidProblem(value)}` }
      if (i.format === 'regex') {
        const pattern = (i as z.core.$ZodIssueInvalidStringFormat & { pattern?: string }).pattern
        return { type: 'string_pattern_mismatch', msg: i.message.startsWith('Invalid string') && pattern ? `String should match pattern '${pattern}'` : i.message }
      }
      return { type: `${i.format}_parsing`, msg: i.message }
    case 'custom':
      return { type: String(i.params?.type ?? 'value_error'), msg: i.message }
    default:
      return { type: 'value_error', msg: i.message }
  }
}

/** What is wrong with a UUID, in the words pydantic uses. */
function uuidProblem(value: unknown): string {
  if (typeof value !== 'string') return 'invalid type'
  const bad = /[^0-9a-fA-F-]/.exec(value)
  if (bad) return `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${bad[0]}\` at ${bad.index + 1}`
  const digits = value.replace(/-/g, '').length
  if (digits !== 32) return `invalid group length or count: expected 32 hex digits in groups of 8-4-4-4-12, found ${digits}`
  return 'it is not an RFC 9562 UUID (version or variant)'
}

/**
 * Zod issues as FastAPI's `detail` list, under a location prefix such as
 * `['query']` or `['body']`; `input` is what was validated (it tells a missing
 * field from a wrong one, and text from a number).
 */
export function toDetail(issues: readonly Issue[], prefix: (string | number)[], input?: unknown): ErrorDetail[] {
  return issues.flatMap((i) => {
    const loc = [...prefix, ...(i.path as (string | number)[])]
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ loc: [...loc, k], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }))
    return [{ loc, ...pydantic(i, input) }]
  })
}

/** A 422 with FastAPI's body shape. */
export function validationError(c: Context, detail: ErrorDetail[]) {
  return c.json({ detail }, 422)
}

/** The one HTTP error type: a status and a `detail` (plus headers). */
export class ApiError extends HTTPException {
  constructor(
    status: 401 | 403 | 404 | 413 | 422 | 503,
    readonly detail: string | ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message: typeof detail === 'string' ? detail : 'Validation error' })
  }
}
