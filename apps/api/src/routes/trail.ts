import type { KeyObject } from 'node:crypto'
import { OpenAPIHono, z } from '@hono/zod-openapi'
import { readStoreTrail, storeCheckpoints, verifyTrail, type AuditStore } from '@audit/core'
import type { AuthOptions } from '../auth.ts'
import { ApiError } from '../errors.ts'
import { ERRORS, UNKNOWN_PARAMETER, defineRoute, guarded } from '../openapi.ts'
import { json } from '../schemas.ts'
import { NoQueryParams, defaultHook } from '../validation.ts'

const PROBLEM_KINDS = [
  'altered_row',
  'removed_row',
  'unrecorded_row',
  'unauthorised_deletion',
  'removed_batch',
  'broken_link',
  'altered_checkpoint',
  'truncated_tail',
  'rewritten_history',
  'bad_signature',
] as const

const Report = z
  .object({
    intact: z.boolean(),
    events: z.number().int(),
    checkpoints: z.number().int(),
    deleted: z.number().int().describe('Events removed by recorded deletions (retention, purge)'),
    erased: z.number().int().describe('Events with erased fields'),
    last_checkpoint: z.object({ seq: z.number().int(), hash: z.string(), created_at: z.string() }).nullable(),
    last_signed: z
      .object({ seq: z.number().int(), hash: z.string(), signed_at: z.string(), key_id: z.string(), verified: z.boolean().nullable() })
      .nullable()
      .describe('The newest signed checkpoint; `verified` null when the server has no key to check it with'),
    problems: z
      .array(
        z.object({
          kind: z.enum(PROBLEM_KINDS),
          seq: z.number().int().nullable(),
          position: z.number().int().optional(),
          id: z.string().optional(),
          message: z.string(),
        }),
      )
      .describe('The first problems in trail order (at most 20); empty when intact'),
    duration_ms: z.number(),
  })
  .openapi('TrailReport')

const verifyRoute = defineRoute({
  method: 'get',
  path: '/verify',
  role: 'admin',
  operationId: 'verifyTrail',
  tag: 'trail',
  summary: 'Check that the trail is complete and unaltered',
  description:
    'Runs the check of `audit-events verify` on the stored trail: the checkpoint chain, every event against the leaf its checkpoint committed to, deletions and erasures against their checkpoints, and the chain against the signed checkpoints (verified with the public half of AUDIT_SIGNING_KEY, or AUDIT_VERIFY_PUBLIC_KEY). Reads every event: seconds per million.',
  request: { query: NoQueryParams },
  responses: {
    200: json(Report, 'The report; `intact` false names the first broken position'),
    422: ERRORS[422](UNKNOWN_PARAMETER),
    503: ERRORS[503],
  },
})

const checkpointsRoute = defineRoute({
  method: 'get',
  path: '/trail/checkpoints',
  role: 'read',
  operationId: 'exportCheckpoints',
  tag: 'trail',
  summary: 'Export the checkpoints and their signatures',
  description:
    'Every checkpoint in seq order, then every recorded signature, one JSON object a line: the `--checkpoints` file of `audit-events verify --file <events export> --checkpoints <this>`.',
  request: { query: NoQueryParams },
  responses: {
    200: {
      description: 'The checkpoints, then the signed checkpoints',
      content: { 'application/x-ndjson': { schema: z.string() } },
      headers: {
        'Content-Disposition': { description: 'An attachment', schema: { type: 'string', example: 'attachment; filename="audit-checkpoints.ndjson"' } },
      } as const,
    },
    422: ERRORS[422](UNKNOWN_PARAMETER),
    503: ERRORS[503],
  },
})

/** GET /api/v1/audit/verify and GET /api/v1/audit/trail/checkpoints */
export function trailRoutes(deps: { store: AuditStore; auth: AuthOptions; publicKey: KeyObject | undefined }) {
  const app = new OpenAPIHono({ defaultHook })
  const trailOf = () => {
    if (!deps.store.trail) throw new ApiError(503, 'This store keeps no trail')
    return deps.store.trail
  }
  app.openapi(guarded(verifyRoute, deps.auth), async (c) => {
    const trail = await readStoreTrail(deps.store, trailOf())
    const report = await verifyTrail({ ...trail, publicKey: deps.publicKey })
    return c.json(report, 200)
  })
  app.openapi(guarded(checkpointsRoute, deps.auth), async (c) => {
    const trail = trailOf()
    const [checkpoints, signatures] = await Promise.all([storeCheckpoints(trail), trail.signatures()])
    const bytes = new TextEncoder().encode([...checkpoints, ...signatures].map((x) => `${JSON.stringify(x)}\n`).join(''))
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes)
        controller.close()
      },
    })
    // a body, not JSON: the route's typed responses only know c.json
    return c.body(body, 200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': 'attachment; filename="audit-checkpoints.ndjson"',
      'Cache-Control': 'no-store',
    }) as never
  })
  return app
}
