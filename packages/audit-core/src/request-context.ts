/**
 * The request context every HTTP adapter (`./hono.ts`, `./express.ts`,
 * `./fastify.ts`) sets: which request id to keep, which address is the
 * client's behind proxies, the user agent. Written once here; an adapter
 * only reads the request and writes the response header in its framework's
 * terms.
 */
import type { IncomingMessage } from 'node:http'
import { BlockList, isIP } from 'node:net'
import type { AuditContext } from './context.ts'
import { isIpAddress } from './schema/event.ts'
import { newEventId } from './uuid7.ts'

/**
 * Which proxies stand in front of the server: `false` (none: the socket's
 * peer is the client), a number of hops (`true` is one: the proxy that
 * connects to us), or the addresses and CIDR ranges of trusted proxies.
 */
export type TrustProxy = boolean | number | readonly string[]

/** What every adapter's middleware accepts; `R` is the framework's request (Hono's `Context`, Express's `Request`, Fastify's `FastifyRequest`). */
export interface RequestContextOptions<R> {
  /**
   * Trusted proxies (default false). The client address is then the
   * right-most `X-Forwarded-For` hop that is not a trusted proxy, so a client
   * cannot forge it by sending the header itself.
   */
  trustProxy?: TrustProxy
  /** Adds to the context, e.g. the authenticated user or tenant. */
  enrich?: (req: R, ctx: AuditContext) => void
}

/** The response header that carries the request id, received and sent. */
export const REQUEST_ID_HEADER = 'X-Request-Id'

/** What the context is made from, as the request carries it (raw header values). */
export interface RequestFacts {
  /** The socket's peer address. */
  peer?: string
  requestId?: string
  forwardedFor?: string
  userAgent?: string
}

/** The context a request starts with: it always has a request id. */
export type RequestAuditContext = AuditContext & { requestId: string }

const REQUEST_ID = /^[A-Za-z0-9._:\-/+=]{1,200}$/
const USER_AGENT_MAX = 1024
/** Longest raw X-Forwarded-For kept in an event when no address could be taken from it. */
const FORWARDED_FOR_MAX = 1024

const contexts = new WeakMap<object, AuditContext>()

/**
 * Compiles the options into what an adapter calls once per request: it
 * reads the request (`read`), makes its context (request id: the caller's
 * X-Request-Id when well-formed, else a new UUIDv7; client address; user
 * agent), lets `enrich` add to it, and remembers it for
 * {@link getRequestAuditContext}. Throws now on a `trustProxy` it cannot use.
 *
 * @example
 * const begin = requestContext(options, (req: IncomingMessage) => nodeRequestFacts(req))
 * const ctx = begin(req) // then: echo ctx.requestId, runWithAuditContext(ctx, next)
 */
export function requestContext<R extends object>(options: RequestContextOptions<R>, read: (req: R) => RequestFacts): (req: R) => RequestAuditContext {
  const trusts = proxyTrust(options.trustProxy ?? false)
  const { enrich } = options
  return (req) => {
    const facts = read(req)
    const ctx: RequestAuditContext = { requestId: facts.requestId && REQUEST_ID.test(facts.requestId) ? facts.requestId : newEventId() }
    const { ip, forwardedFor } = clientAddress(facts.peer, facts.forwardedFor, trusts)
    if (ip) ctx.ipAddress = ip
    if (forwardedFor !== undefined) ctx.forwardedFor = forwardedFor
    if (facts.userAgent) ctx.userAgent = facts.userAgent.slice(0, USER_AGENT_MAX)
    enrich?.(req, ctx)
    contexts.set(req, ctx)
    return ctx
  }
}

/** The audit context the middleware set for this request (mutable: auth may add the operator). */
export function getRequestAuditContext(req: object): AuditContext | undefined {
  return contexts.get(req)
}

/** The facts of a Node.js request (what Express's `req` and Fastify's `request.raw` are). */
export function nodeRequestFacts(req: IncomingMessage): RequestFacts {
  // Node joins a repeated header of these kinds with ', ', as fetch's Headers does
  const header = (name: string) => {
    const v = req.headers[name]
    return Array.isArray(v) ? v.join(', ') : v
  }
  return { peer: req.socket.remoteAddress, requestId: header('x-request-id'), forwardedFor: header('x-forwarded-for'), userAgent: header('user-agent') }
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
  const bad = setting.filter((item) => !validRange(item))
  if (bad.length > 0) throw new Error(`trustProxy: ${bad.map((b) => `"${b}"`).join(', ')} is not an address or CIDR range`)
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
