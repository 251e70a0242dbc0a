import { z } from '@hono/zod-openapi'
import { ACTOR_TYPES, EventInputSchema, RESULTS, SEVERITIES } from '@audit/core'

/** An event as the API returns it. */
export const EventSchema = z
  .object({
    id: z.uuid(),
    timestamp: z.string().openapi({ example: '2026-11-20T10:00:00.000Z' }),
    source: z.string(),
    operator: z.string().nullable(),
    operation_type: z.string(),
    result: z.enum(RESULTS),
    message: z.string().nullable(),
    extra_info: z.record(z.string(), z.unknown()).nullable(),
    severity: z.enum(SEVERITIES),
    tenant_id: z.string().nullable(),
    actor_type: z.string().nullable().describe(`Kind of actor: commonly ${ACTOR_TYPES.join(', ')}; any [a-z_]{1,20}`),
    resource_type: z.string().nullable(),
    resource_id: z.string().nullable(),
    request_id: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
  })
  .openapi('AuditEvent')

export const EventInput = EventInputSchema.meta({
  id: 'AuditEventInput',
  example: {
    source: 'api-service',
    operation_type: 'stock_price_download',
    result: 'success',
    operator: 'ana@example.com',
    message: 'Successfully downloaded data for AAPL',
    extra_info: { symbol: 'AAPL', records_count: 100 },
  },
})

export const MAX_BATCH = 1000
export const IngestBatchSchema = z.object({ events: z.array(EventInputSchema).min(1).max(MAX_BATCH) }).strict()

export const IngestBody = z
  .union([EventInput, z.object({ events: z.array(EventInput).min(1).max(MAX_BATCH) }).openapi('AuditEventBatch')])
  .openapi({ description: `One event, or {"events": [...]} with at most ${MAX_BATCH}` })

export const IngestResponse = z.object({ accepted: z.number().int(), ids: z.array(z.uuid()) }).openapi('IngestResponse')

export const EventPageSchema = z
  .object({
    events: z.array(EventSchema),
    total: z.number().int().describe('How many match: exact up to AUDIT_COUNT_CAP, the planner\'s estimate past it'),
    total_exact: z.boolean().describe('False when `total` is an estimate (more than AUDIT_COUNT_CAP match)'),
    limit: z.number().int(),
    offset: z.number().int(),
    has_more: z.boolean(),
  })
  .openapi('AuditEventPage')

const Detail = z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })
export const ValidationErrorSchema = z.object({ detail: z.array(Detail) }).openapi('HTTPValidationError')
export const ErrorSchema = z.object({ detail: z.string() }).openapi('HTTPError')

/** A JSON response of this schema. */
export const json = <S extends z.ZodType>(schema: S, description: string) => ({ content: { 'application/json': { schema } }, description })
