/**
 * Hono helpers for applications that embed the audit library in their own
 * API: a request-context middleware and an audited handler wrapper.
 */
import type { Context, Handler, MiddlewareHandler } from 'hono'
import { runWithAuditContext, type AuditContext } from './context.ts'
import type { AuditLogger, OperationHandle, OperationInput } from './logger.ts'
import { forwardedForInfo, getRequestAuditContext as contextOf, REQUEST_ID_HEADER, requestContext, type RequestContextOptions } from './request-context.ts'

export { clientAddress, forwardedForInfo, parseTrustProxy, proxyTrust } from './request-context.ts'
export type { ProxyTrustFn, TrustProxy } from './request-context.ts'

export type AuditContextOptions = RequestContextOptions<Context>

/** The audit context of this request, as the middleware set it (mutable: auth may add the operator). */
export const getRequestAuditContext: (c: Context) => AuditContext | undefined = contextOf

/**
 * Sets the audit context for everything recorded while handling the request:
 * request id (X-Request-Id when well-formed, else a new UUIDv7; echoed in the
 * response), client ip and user agent.
 *
 * @example
 * app.use('*', auditContext())
 * app.use('*', async (c, next) => { getRequestAuditContext(c)!.operator = c.get('user').email; await next() })
 */
export function auditContext(options: AuditContextOptions = {}): MiddlewareHandler {
  const begin = requestContext(options, (c: Context) => ({
    peer: peerAddress(c),
    requestId: c.req.header('x-request-id'),
    forwardedFor: c.req.header('x-forwarded-for'),
    userAgent: c.req.header('user-agent'),
  }))
  return async (c, next) => {
    const ctx = begin(c)
    c.header(REQUEST_ID_HEADER, ctx.requestId)
    return runWithAuditContext(ctx, () => next())
  }
}

/** The socket's peer as @hono/node-server hands it over, if any. */
function peerAddress(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
}

/**
 * Wraps a Hono handler in `auditOperation`: the event records the duration and
 * the response status (`extra_info.status`); a thrown error or a 5xx response
 * is a failure, a 4xx a warning.
 *
 * @example
 * app.post('/symbols/:symbol/download', auditHandler(audit, { operationType: 'stock_price_download' }, async (c, op) => {
 *   const n = await download(c.req.param('symbol'))
 *   op.extraInfo.records_count = n
 *   return c.json({ downloaded: n })
 * }))
 */
export function auditHandler(
  audit: AuditLogger,
  operation: OperationInput | ((c: Context) => OperationInput),
  handler: (c: Context, op: OperationHandle) => Response | Promise<Response>,
): Handler {
  return (c) =>
    audit.auditOperation(typeof operation === 'function' ? operation(c) : operation, async (op) => {
      Object.assign(op.extraInfo, forwardedForInfo(getRequestAuditContext(c)))
      const res = await handler(c, op)
      op.extraInfo.status = res.status
      if (res.status >= 500) op.set({ result: 'failure' })
      else if (res.status >= 400) op.set({ result: 'warning' })
      return res
    })
}
