import { isIP } from 'node:net'
import { z } from 'zod'
import { COLUMNS, charLength, patternClass, type ColumnName, type ColumnSpec } from './columns.ts'
import { type Severity } from './model.ts'
import { parseTimestamp } from './time.ts'

export * from './model.ts'
export { parseTimestamp, eventTimestamp, type ParsedTimestamp, type TimestampRule } from './time.ts'

const stripNul = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s)

// JSON.stringify writes U+0000 as the six characters \u0000, which jsonb
// refuses; drop those, but not an escaped backslash followed by "u0000".
const JSON_NUL = /\\(?:\\|u0000)/g
/** Removes NUL characters from every string and key of a JSON text. */
export function stripJsonNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(JSON_NUL, (m) => (m === '\\\\' ? m : '')) : json
}

// JSON.stringify escapes a lone surrogate as \udXXX (a pair it writes as is),
// so such an escape is text Postgres cannot store without changing it.
const JSON_LONE_SURROGATE = /\\(?:\\|u[dD][89a-fA-F][0-9a-fA-F]{2})/g
function hasLoneSurrogate(json: string): boolean {
  if (!json.includes('\\u')) return false
  for (const m of json.matchAll(JSON_LONE_SURROGATE)) if (m[0] !== '\\\\') return true
  return false
}

/**
 * An address the `inet` column stores as given: IPv4 or IPv6 as `net.isIP`
 * reads it, without a zone index (`fe80::1%eth0`), which `inet` refuses.
 */
export function isIpAddress(s: string): boolean {
  return s.length <= 45 && !s.includes('%') && isIP(s) !== 0
}

/**
 * How a JSON value nests, walked without recursion (a deep value must not
 * overflow the stack): `depth` past `maxDepth`, or more containers than
 * `maxContainers` (each is at least two bytes of JSON), stops the walk.
 */
function jsonShape(root: unknown, maxDepth: number, maxContainers: number): 'ok' | 'too_deep' | 'too_big' {
  const stack: [unknown, number][] = [[root, 1]]
  let containers = 0
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [object, number]
    if (depth > maxDepth) return 'too_deep'
    if (++containers > maxContainers) return 'too_big'
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return 'ok'
}

type Issue = z.core.$ZodRawIssue
const custom = (input: unknown, message: string, type: string): Issue => ({ code: 'custom', input, message, params: { type } })

/** Free text: valid Unicode, at most `max` characters as Postgres counts them; NUL characters are removed (Postgres text cannot hold them). */
function freeText(name: string, max: number) {
  return z
    .string()
    .check((ctx) => {
      const s = ctx.value
      if (!s.isWellFormed()) ctx.issues.push(custom(s, `${name} is not valid Unicode (it holds a lone surrogate)`, 'string_unicode'))
      else if (s.length > max && charLength(s) > max) {
        ctx.issues.push({ code: 'too_big', origin: 'string', maximum: max, input: s, message: `${name} may have at most ${max} characters` })
      }
    })
    .overwrite(stripNul)
}

/** ISO 8601 with seconds and a zone, a real date in years 0001-9999 (UTC); answered in canonical UTC text. */
const timestamp = z
  .string()
  .check((ctx) => {
    const p = parseTimestamp(ctx.value, { strict: true })
    if (p.ok) ctx.value = p.iso
    else ctx.issues.push(custom(ctx.value, p.message, 'datetime_parsing'))
  })
  .meta({ format: 'date-time' })

function jsonObject(name: string, c: ColumnSpec) {
  const maxBytes = c.maxBytes as number
  const maxDepth = c.maxDepth as number
  return z.record(z.string(), z.unknown()).check((ctx) => {
    const value = ctx.value
    const tooBig = (bytes: number | string) =>
      ctx.issues.push({ code: 'too_big', origin: 'string', maximum: maxBytes, input: value, message: `${name} is ${bytes} bytes as JSON; at most ${maxBytes} are allowed` })
    // walked before JSON.stringify, whose recursion a deep value overflows
    let json: string
    try {
      const shape = jsonShape(value, maxDepth, maxBytes / 2)
      if (shape === 'too_deep') {
        ctx.issues.push(custom(value, `${name} is nested deeper than ${maxDepth} levels`, 'too_deep'))
        return
      }
      if (shape === 'too_big') return void tooBig(`more than ${maxBytes}`)
      json = JSON.stringify(value)
    } catch (e) {
      ctx.issues.push(custom(value, `${name} cannot be written as JSON: ${(e as Error).message}`, 'json_invalid'))
      return
    }
    // a UTF-16 unit is at most 3 bytes of UTF-8: short texts need no byte count
    const bytes = json.length * 3 <= maxBytes ? 0 : Buffer.byteLength(json)
    if (bytes > maxBytes) return void tooBig(bytes)
    if (hasLoneSurrogate(json)) {
      ctx.issues.push(custom(value, `${name} is not valid Unicode (a key or value holds a lone surrogate)`, 'string_unicode'))
      return
    }
    const clean = stripJsonNul(json)
    if (clean === json) return
    const parsed = JSON.parse(clean) as Record<string, unknown>
    // two keys that differ only by NUL would become one: refuse rather than lose a value
    if (JSON.stringify(parsed).length !== clean.length) {
      ctx.issues.push(custom(value, `${name} has keys that differ only by NUL characters`, 'value_error'))
      return
    }
    ctx.value = parsed
  })
}

const ipAddress = z.string().refine(isIpAddress, { error: 'ip_address must be an IPv4 or IPv6 address', params: { type: 'ip_any_address' } })

/** A name column: its CHECK pattern and its length, as one regular expression. */
function boundedName(name: string, c: { pattern: string; maxLength: number }) {
  const cls = patternClass(c.pattern)
  return z.string().regex(new RegExp(`^${cls}{1,${c.maxLength}}$`), `${name} must match ${cls}{1,${c.maxLength}}`)
}

/** The zod schema of one column's value, from its spec (before null/optional). */
function valueSchema(name: string, c: ColumnSpec): z.ZodType {
  if (c.values) return z.enum(c.values)
  if (c.pattern) return boundedName(name, c as { pattern: string; maxLength: number })
  switch (c.type) {
    case 'uuid':
      return z.uuid()
    case 'timestamp with time zone':
      return timestamp
    case 'jsonb':
      return jsonObject(name, c)
    case 'inet':
      return ipAddress
    default:
      return freeText(name, (c.maxLength ?? c.maxChars) as number)
  }
}

type Spec<K extends ColumnName> = (typeof COLUMNS)[K]
type ValueOf<C> = C extends { values: readonly (infer V)[] } ? V : C extends { type: 'jsonb' } ? Record<string, unknown> : string
type Field<C> = C extends { input: 'required' }
  ? z.ZodType<ValueOf<C>, ValueOf<C>>
  : C extends { input: 'optional' }
    ? z.ZodOptional<z.ZodType<ValueOf<C>, ValueOf<C>>>
    : z.ZodOptional<z.ZodNullable<z.ZodType<ValueOf<C>, ValueOf<C>>>>

function fieldSchema(name: string, c: ColumnSpec): z.ZodType {
  const bounds = c.type === 'jsonb' ? `: at most ${c.maxBytes} bytes as JSON, nested at most ${c.maxDepth} levels` : ''
  const described = (s: z.ZodType) => (c.description ? s.describe(`${c.description}${bounds}`) : s)
  const v = valueSchema(name, c)
  if (c.input === 'required') return described(v)
  return described(c.input === 'optional' ? v.optional() : v.nullable().optional())
}

const shape = Object.fromEntries(Object.entries(COLUMNS).map(([name, c]) => [name, fieldSchema(name, c)])) as { [K in ColumnName]: Field<Spec<K>> }

/**
 * One event as sent over HTTP and stored: snake_case, the seed's columns
 * first, every rule from the column spec (columns.ts). `source`,
 * `operation_type` and `result` are required.
 */
export const EventInputSchema = z.object(shape).strict()

export type EventInput = z.input<typeof EventInputSchema>
/** A validated event ready for the database (NUL characters removed). */
export type EventRow = z.output<typeof EventInputSchema> & { id: string; timestamp: string; severity: Severity }

/** How the fast check tests one column (a switch, not a closure per column: this runs for every event). */
// 'never': id and timestamp, which the schema canonicalises
type Kind = 'never' | 'oneOf' | 'name' | 'text' | 'ip' | 'json'
interface Fast {
  name: string
  input: ColumnSpec['input']
  kind: Kind
  max: number
  allowed?: ReadonlySet<unknown>
  re?: RegExp
}

function fastSpec(name: string, c: ColumnSpec): Fast {
  const base = { name, input: c.input, max: (c.maxLength ?? c.maxChars ?? c.maxBytes ?? 0) }
  if (c.values) return { ...base, kind: 'oneOf', allowed: new Set(c.values) }
  if (c.pattern) return { ...base, kind: 'name', re: new RegExp(`^${patternClass(c.pattern)}{1,${c.maxLength}}$`) }
  switch (c.type) {
    case 'uuid':
    case 'timestamp with time zone':
      return { ...base, kind: 'never' }
    case 'inet':
      return { ...base, kind: 'ip' }
    case 'jsonb':
      return { ...base, kind: 'json' }
    default:
      return { ...base, kind: 'text' }
  }
}

const EXTRA_MAX_DEPTH = COLUMNS.extra_info.maxDepth

/** True when extra_info is surely taken unchanged: a plain object, small, without escapes, shallow. */
function fastJson(x: unknown, maxBytes: number): boolean {
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype || Object.getOwnPropertySymbols(x).length > 0) return false
  let json: string
  try {
    json = JSON.stringify(x)
  } catch {
    return false // too deep for the stack, or not JSON: the schema explains
  }
  // no escapes (NUL, lone surrogates, control characters) and small enough
  if (json.length * 3 > maxBytes || json.includes('\\u')) return false
  // nesting is at most the number of brackets (counted inside strings too)
  let brackets = 0
  for (let i = json.indexOf('{'); i !== -1 && brackets <= EXTRA_MAX_DEPTH; i = json.indexOf('{', i + 1)) brackets++
  for (let i = json.indexOf('['); i !== -1 && brackets <= EXTRA_MAX_DEPTH; i = json.indexOf('[', i + 1)) brackets++
  return brackets <= EXTRA_MAX_DEPTH
}

function fastValue(f: Fast, v: unknown): boolean {
  switch (f.kind) {
    case 'oneOf':
      return (f.allowed as ReadonlySet<unknown>).has(v)
    case 'name':
      return typeof v === 'string' && (f.re as RegExp).test(v)
    case 'text':
      return typeof v === 'string' && v.length <= f.max && !v.includes('\u0000') && v.isWellFormed()
    case 'ip':
      return typeof v === 'string' && isIpAddress(v)
    case 'json':
      return fastJson(v, f.max)
    default:
      return false
  }
}

const FAST: readonly Fast[] = Object.entries(COLUMNS).map(([name, c]) => fastSpec(name, c))

/**
 * True only when {@link EventInputSchema} would accept this event and return
 * it unchanged: the common case, checked without the schema's allocations
 * (the logger's hot path; event.test.ts holds the two to the same answers).
 * It defers (false) on an `id` or `timestamp`, which the schema
 * canonicalises. False says nothing: the schema then decides, and explains.
 */
export function acceptsAsIs(e: Record<string, unknown>): boolean {
  let given = 0
  for (const f of FAST) {
    const v = e[f.name]
    if (v === undefined) {
      if (f.input === 'required') return false
      continue
    }
    given++
    if (v === null) {
      if (f.input !== 'nullable') return false
    } else if (!fastValue(f, v)) return false
  }
  // a field the schema does not know (or one set to undefined): let the schema say
  let keys = 0
  for (const _ in e) keys++
  return given === keys
}
