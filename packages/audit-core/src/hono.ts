/**
 * Hono helpers for applications that embed the audit library in their own
 * API: a request-context middleware and an audited handler wrapper.
 */
import { BlockList, isIP } from 'node:net'
import type { Context, Handler, MiddlewareHandler } from 'hono'
import { newEventId } from './uuid7.ts'
import { runWithAuditContext, type AuditContext } from './context.ts'
import type { AuditLogger, OperationHandle, OperationInput } from './logger.ts'
import { isIpAddress } from './schema/event.ts'

/**
 * Which proxies stand in front of the server: `false` (none: the socket's
 * peer is the client), a number of hops (`true` is one: the proxy that
 * connects to us), or the addresses and CIDR ranges of trusted proxies.
 */
export type TrustProxy = boolean | number | readonly string[]

export interface AuditContextOptions {
  /**
   * Trusted proxies (default false). The client address is then the
   * right-most `X-Forwarded-For` hop that is not a trusted proxy, so a client
   * cannot forge it by sending the header itself.
   */
  trustProxy?: TrustProxy
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
  const trusted = proxyTrust(options.trustProxy ?? false)
  return async (c, next) => {
    const given = c.req.header('x-request-id')
    const requestId = given && REQUEST_ID.test(given) ? given : newEventId()
    c.header('X-Request-Id', requestId)
    const ctx: AuditContext = { requestId }
    const { ip, forwardedFor } = clientAddress(peerAddress(c), c.req.header('x-forwarded-for'), trusted)
    if (ip) ctx.ipAddress = ip
    if (forwardedFor !== undefined) ctx.forwardedFor = forwardedFor
    const ua = c.req.header('user-agent')
    if (ua) ctx.userAgent = ua.slice(0, 1024)
    options.enrich?.(c, ctx)
    c.set('auditContext' as never, ctx as never)
    return runWithAuditContext(ctx, () => next())
  }
}

/** Longest raw X-Forwarded-For kept in an event when no address could be taken from it. */
const FORWARDED_FOR_MAX = 1024

/** The socket's peer as @hono/node-server hands it over, if any. */
function peerAddress(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
}

/** `::ffff:192.0.2.1` is the IPv4 client 192.0.2.1, seen through an IPv6 socket. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

/**
 * Reads `AUDIT_TRUST_PROXY`: `false` (or empty, `0`), `true` (one hop), a hop
 * count, or a comma list of proxy addresses and CIDR ranges. Throws naming
 * what it cannot read.
 *
 * @example
 * parseTrustProxy('1')                          // 1
 * parseTrustProxy('10.0.0.0/8, 192.168.1.7')    // ['10.0.0.0/8', '192.168.1.7']
 */
export function parseTrustProxy(text: string): TrustProxy {
  const t = text.trim().toLowerCase()
  if (['', 'false', 'no', 'off', '0'].includes(t)) return false
  if (['true', 'yes', 'on'].includes(t)) return 1
  if (/^\d+$/.test(t)) {
    const n = Number(t)
    if (n > 64) throw new Error(`AUDIT_TRUST_PROXY: ${n} hops is not a plausible proxy chain`)
    return n
  }
  const items = text.split(',').map((s) => s.trim()).filter(Boolean)
  const bad = items.filter((item) => !validRange(item))
  if (bad.length > 0) {
    throw new Error(`AUDIT_TRUST_PROXY: ${bad.map((b) => `"${b}"`).join(', ')} is not an address or CIDR range (use false, a hop count, or e.g. 10.0.0.0/8,192.168.1.7)`)
  }
  return items
}

function validRange(item: string): boolean {
  const [address = '', prefix, ...rest] = item.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

/** Whether hop `hop` (0 = the socket's peer, 1 = the right-most X-Forwarded-For entry, …) at `address` is a proxy we trust. */
export type ProxyTrustFn = (address: string | undefined, hop: number) => boolean

/** Compiles a {@link TrustProxy} setting into a check of one hop. */
export function proxyTrust(setting: TrustProxy): ProxyTrustFn {
  if (setting === false) return () => false
  if (setting === true || typeof setting === 'number') {
    const hops = setting === true ? 1 : setting
    return (_address, hop) => hop < hops
  }
  const list = new BlockList()
  for (const item of setting) {
    const [address = '', prefix] = item.split('/')
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) list.addAddress(normalise(address), isIP(normalise(address)) === 6 ? 'ipv6' : 'ipv4')
    else list.addSubnet(address, Number(prefix), type)
  }
  return (address) => address !== undefined && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

/**
 * The client's address: the socket's peer, or behind trusted proxies the
 * right-most `X-Forwarded-For` hop that is not one of them (the left-most
 * entries are whatever the client sent, so they are never believed). When
 * the hop that decides is not a valid address, there is no address
 * (`ip` undefined) and the raw header is returned as `forwardedFor`, to be
 * kept with the event rather than to reject it.
 *
 * @example
 * clientAddress('10.0.0.2', '10.0.0.1, 198.51.100.7', proxyTrust(1)) // { ip: '198.51.100.7' }
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trusts: ProxyTrustFn): { ip?: string; forwardedFor?: string } {
  const socket = peer === undefined ? undefined : normalise(peer)
  const valid = (a: string | undefined) => (a !== undefined && isIpAddress(a) ? a : undefined)
  if (forwardedFor === undefined || !trusts(socket, 0)) return { ip: valid(socket) }
  const hops = forwardedFor.split(',')
  for (let i = hops.length - 1; i >= 0; i--) {
    const address = normalise((hops[i] as string).trim())
    if (!isIpAddress(address)) return { forwardedFor: forwardedFor.slice(0, FORWARDED_FOR_MAX) }
    // the left-most hop is the client even when it too is trusted: nothing is further out
    if (i === 0 || !trusts(address, hops.length - i)) return { ip: address }
  }
  return { ip: valid(socket) }
}

/** What an event recorded by the server itself keeps about a request whose address could not be read. */
export function forwardedForInfo(ctx: AuditContext | undefined): { forwarded_for?: string } {
  return ctx?.forwardedFor !== undefined ? { forwarded_for: ctx.forwardedFor } : {}
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
