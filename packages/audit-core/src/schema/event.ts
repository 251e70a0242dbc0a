import { z } from 'zod'
import {
  ACTOR_TYPES,
  EXTRA_INFO_MAX_BYTES,
  LIMITS,
  MESSAGE_MAX_CHARS,
  OPERATION_TYPE_PATTERN,
  RESULTS,
  SEVERITIES,
  SOURCE_PATTERN,
  type Severity,
} from './model.ts'

export * from './model.ts'

const NUL = /\u0000/g
const stripNul = (s: string) => (s.includes('\u0000') ? s.replace(NUL, '') : s)

// JSON.stringify writes U+0000 as the six characters \u0000, which jsonb
// refuses; drop those, but not an escaped backslash followed by "u0000".
const JSON_NUL = /\\(?:\\|u0000)/g
/** Removes NUL characters from every string and key of a JSON text. */
export function stripJsonNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(JSON_NUL, (m) => (m === '\\\\' ? m : '')) : json
}

const text = (max: number) => z.string().max(max).overwrite(stripNul)
const nullableText = (max: number) => text(max).nullable().optional()

const extraInfo = z
  .record(z.string(), z.unknown())
  .nullable()
  .optional()
  .check((ctx) => {
    // one JSON.stringify for the size limit and the NUL scrub (this runs for every event)
    if (ctx.value == null) return
    const json = JSON.stringify(ctx.value)
    // a UTF-16 unit is at most 3 bytes of UTF-8: short texts need no byte count
    const bytes = json.length * 3 <= EXTRA_INFO_MAX_BYTES ? 0 : Buffer.byteLength(json)
    if (bytes > EXTRA_INFO_MAX_BYTES) {
      ctx.issues.push({
        code: 'too_big',
        origin: 'string',
        maximum: EXTRA_INFO_MAX_BYTES,
        input: ctx.value,
        message: `extra_info is ${bytes} bytes as JSON; at most ${EXTRA_INFO_MAX_BYTES} are allowed`,
      })
      return
    }
    const clean = stripJsonNul(json)
    if (clean !== json) ctx.value = JSON.parse(clean) as Record<string, unknown>
  })

/**
 * One event as sent over HTTP and stored: snake_case, the seed's columns first.
 * `source`, `operation_type` and `result` are required.
 */
export const EventInputSchema = z
  .object({
    id: z.uuid().optional().describe('Client-chosen id (UUID); re-sending the same id writes nothing twice.'),
    timestamp: z.iso.datetime({ offset: true }).optional().describe('When it happened (ISO 8601); default now.'),
    source: z.string().regex(SOURCE_PATTERN, 'source must match [a-z0-9_.:-]{1,50}'),
    operator: nullableText(LIMITS.operator).describe('Who: user email or id, service name; null for system events.'),
    operation_type: z.string().regex(OPERATION_TYPE_PATTERN, 'operation_type must match [A-Za-z0-9_.:-]{1,100}'),
    result: z.enum(RESULTS),
    message: nullableText(MESSAGE_MAX_CHARS),
    extra_info: extraInfo.describe(`Free JSON metadata, at most ${EXTRA_INFO_MAX_BYTES} bytes.`),
    severity: z.enum(SEVERITIES).optional().describe('Default derived from result: success→info, warning→warning, failure→error.'),
    tenant_id: nullableText(LIMITS.tenant_id),
    actor_type: z.enum(ACTOR_TYPES).nullable().optional(),
    resource_type: nullableText(LIMITS.resource_type),
    resource_id: nullableText(LIMITS.resource_id),
    request_id: nullableText(LIMITS.request_id),
    ip_address: z.union([z.ipv4(), z.ipv6()]).nullable().optional(),
    user_agent: nullableText(LIMITS.user_agent),
  })
  .strict()

export type EventInput = z.input<typeof EventInputSchema>
/** A validated event ready for the database (NUL bytes removed). */
export type EventRow = z.output<typeof EventInputSchema> & { id: string; timestamp: string; severity: Severity }


const TEXT_LIMITS: readonly [string, number][] = [...Object.entries(LIMITS), ['message', MESSAGE_MAX_CHARS]]
const RESULT_SET: ReadonlySet<unknown> = new Set(RESULTS)
const SEVERITY_SET: ReadonlySet<unknown> = new Set(SEVERITIES)
const ACTOR_SET: ReadonlySet<unknown> = new Set(ACTOR_TYPES)

/**
 * True only when {@link EventInputSchema} would accept this event (with
 * `severity` set, and no `id`, `timestamp` or `ip_address`) and return it
 * unchanged: the common case, checked without the schema's allocations (the
 * logger's hot path; logger.test.ts holds the two to the same answers).
 * False says nothing: the schema then decides, and explains.
 */
export function acceptsAsIs(e: Record<string, unknown>): boolean {
  if (e.id !== undefined || e.timestamp !== undefined || e.ip_address != null) return false
  if (typeof e.source !== 'string' || !SOURCE_PATTERN.test(e.source)) return false
  if (typeof e.operation_type !== 'string' || !OPERATION_TYPE_PATTERN.test(e.operation_type)) return false
  if (!RESULT_SET.has(e.result) || !SEVERITY_SET.has(e.severity)) return false
  if (e.actor_type != null && !ACTOR_SET.has(e.actor_type)) return false
  for (const [key, max] of TEXT_LIMITS) {
    const v = e[key]
    if (v != null && (typeof v !== 'string' || v.length > max || v.includes('\u0000'))) return false
  }
  const x = e.extra_info
  if (x == null) return true
  if (typeof x !== 'object' || Object.getPrototypeOf(x) !== Object.prototype || Object.getOwnPropertySymbols(x).length > 0) return false
  let json: string
  try {
    json = JSON.stringify(x)
  } catch {
    return false
  }
  return json.length * 3 <= EXTRA_INFO_MAX_BYTES && !json.includes('\\u0000')
}
