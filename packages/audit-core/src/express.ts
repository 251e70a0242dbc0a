/**
 * Express 5 helpers for applications that embed the audit library in their
 * own API: the request-context middleware, with the same rules as the Hono
 * one (`./request-context.ts`).
 */
import type { Request, RequestHandler } from 'express'
import { runWithAuditContext, type AuditContext } from './context.ts'
import { getRequestAuditContext as contextOf, nodeRequestFacts, REQUEST_ID_HEADER, requestContext, type RequestContextOptions } from './request-context.ts'

export { forwardedForInfo, parseTrustProxy } from './request-context.ts'
export type { TrustProxy } from './request-context.ts'

export type AuditContextOptions = RequestContextOptions<Request>

/** The audit context of this request, as the middleware set it (mutable: auth may add the operator). */
export const getRequestAuditContext: (req: Request) => AuditContext | undefined = contextOf

/**
 * Sets the audit context for everything recorded while handling the request:
 * request id (X-Request-Id when well-formed, else a new UUIDv7; echoed in the
 * response), client ip and user agent. The client address follows
 * `trustProxy`, not Express's `trust proxy` setting, so that every adapter
 * reads it alike.
 *
 * @example
 * app.use(auditContext({ trustProxy: 1 }))
 * app.use((req, _res, next) => { getRequestAuditContext(req)!.operator = req.user?.email; next() })
 */
export function auditContext(options: AuditContextOptions = {}): RequestHandler {
  const begin = requestContext(options, nodeRequestFacts)
  return (req, res, next) => {
    const ctx = begin(req)
    res.setHeader(REQUEST_ID_HEADER, ctx.requestId)
    runWithAuditContext(ctx, () => next())
  }
}
