/**
 * Hono helpers for applications that embed the audit library in their own
 * API: a request-context middleware and an audited handler wrapper.
 */
import type { Context, Handler, MiddlewareHandler } from 'hono'
import { newEventId } from './uuid7.ts'
import { runWithAuditContext, type AuditContext } from './context.ts'
import type { AuditLogger, OperationHandle, OperationInput } from './logger.ts'

export interface AuditContextOptions {
  /** Take the client address from X-Forwarded-For (only behind a proxy you trust). Default false. */
  trustProxy?: boolean
  /** Adds to the context, e.g. the authenticated user or tenant. */
  enrich?: (c: Context, ctx: AuditContext) => void
}

const REQUEST_ID = /^[A-Za-z0-9._:\-/+=]{1,200}$/

/** The audit context of this request, as the middleware set it (mutable: auth may add the operator). */
export function getRequestAuditContext(c: Context): AuditContext | undefined {
  return c.get('auditContext' as never) as AuditContext | undefined
}

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
  return async (c, next) => {
    const given = c.req.header('x-request-id')
    const requestId = given && REQUEST_ID.test(given) ? given : newEventId()
    c.header('X-Request-Id', requestId)
    const ctx: AuditContext = { requestId }
    const ip = clientIp(c, options.trustProxy ?? false)
    if (ip) ctx.ipAddress = ip
    const ua = c.req.header('user-agent')
    if (ua) ctx.userAgent = ua.slice(0, 1024)
    options.enrich?.(c, ctx)
    c.set('auditContext' as never, ctx as never)
    return runWithAuditContext(ctx, () => next())
  }
}

function clientIp(c: Context, trustProxy: boolean): string | undefined {
  let ip: string | undefined
  if (trustProxy) ip = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
  ip ??= (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
  if (!ip) return undefined
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
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
      const res = await handler(c, op)
      op.extraInfo.status = res.status
      if (res.status >= 500) op.set({ result: 'failure' })
      else if (res.status >= 400) op.set({ result: 'warning' })
      return res
    })
}
