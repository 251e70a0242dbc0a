/**
 * Fastify 5 helpers for applications that embed the audit library in their
 * own API: the request-context hook, with the same rules as the Hono
 * middleware (`./request-context.ts`).
 */
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { runWithAuditContext, type AuditContext } from './context.ts'
import { getRequestAuditContext as contextOf, nodeRequestFacts, REQUEST_ID_HEADER, requestContext, type RequestContextOptions } from './request-context.ts'

export { forwardedForInfo, parseTrustProxy } from './request-context.ts'
export type { TrustProxy } from './request-context.ts'

export type AuditContextOptions = RequestContextOptions<FastifyRequest>

/** The audit context of this request, as the hook set it (mutable: auth may add the operator). */
export const getRequestAuditContext: (request: FastifyRequest) => AuditContext | undefined = contextOf

/**
 * An `onRequest` hook that sets the audit context for everything recorded
 * while handling the request: request id (X-Request-Id when well-formed,
 * else a new UUIDv7; echoed in the response), client ip and user agent.
 * The client address follows `trustProxy`, not Fastify's own `trustProxy`
 * option, so that every adapter reads it alike.
 *
 * The rest of the request (body parsing, later hooks, the handler) runs
 * inside the context, as Fastify's own AsyncLocalStorage test does it.
 * Add it to the root instance to cover every route; added inside a plugin
 * it covers that plugin's routes (Fastify's encapsulation).
 *
 * @example
 * app.addHook('onRequest', auditContext({ trustProxy: 1 }))
 * app.addHook('preHandler', async (request) => { getRequestAuditContext(request)!.operator = request.user?.email })
 */
export function auditContext(options: AuditContextOptions = {}): onRequestHookHandler {
  const begin = requestContext(options, (request: FastifyRequest) => nodeRequestFacts(request.raw))
  return (request, reply, done) => {
    const ctx = begin(request)
    reply.header(REQUEST_ID_HEADER, ctx.requestId)
    runWithAuditContext(ctx, () => done())
  }
}
