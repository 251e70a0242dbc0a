import { createHash, timingSafeEqual } from 'node:crypto'
import type { AuditLogger } from '@audit/core'
import { forwardedForInfo, getRequestAuditContext } from '@audit/core/hono'
import type { Context, MiddlewareHandler } from 'hono'
import { ApiError } from './errors.ts'

export const ROLES = ['ingest', 'read', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface ApiKey {
  role: Role
  /** Recorded as the operator of what the key does. */
  name: string
  hash: Buffer
}

const sha256 = (s: string) => createHash('sha256').update(s).digest()

/** Makes a key record from a secret. */
export function apiKey(role: Role, secret: string, name?: string): ApiKey {
  return { role, name: name ?? `${role}-key-${sha256(secret).toString('hex').slice(0, 8)}`, hash: sha256(secret) }
}

/**
 * Parses AUDIT_API_KEYS: `role:key` or `role:name:key`, comma-separated.
 * Throws on an unknown role or a key shorter than 16 characters, saying
 * which entry (its position, and its name when it has one) without quoting
 * it: an entry that is not understood may be nothing but the secret.
 *
 * @example
 * parseApiKeys('admin:ops:0123456789abcdef, ingest:fedcba9876543210')
 */
export function parseApiKeys(spec: string): ApiKey[] {
  const keys: ApiKey[] = []
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean)
  parts.forEach((part, i) => {
    const bits = part.split(':')
    const role = bits[0] as Role
    const secret = bits.at(-1) ?? ''
    const name = bits.length >= 3 ? bits.slice(1, -1).join(':') : undefined
    const entry = `AUDIT_API_KEYS: entry ${i + 1} of ${parts.length}`
    if (bits.length < 2) throw new Error(`${entry} has no role: write role:key or role:name:key (roles ${ROLES.join(', ')})`)
    if (!ROLES.includes(role)) throw new Error(`${entry} does not start with a role (${ROLES.join(', ')}): write role:key or role:name:key`)
    if (secret.length < 16) throw new Error(`${entry} (role ${role}${name ? `, name "${name}"` : ''}): the key is shorter than 16 characters`)
    keys.push(apiKey(role, secret, name))
  })
  return keys
}

/** Finds the key for a presented secret, comparing in constant time against every key. */
export function findKey(keys: readonly ApiKey[], presented: string): ApiKey | null {
  const h = sha256(presented)
  let found: ApiKey | null = null
  for (const k of keys) if (timingSafeEqual(k.hash, h) && !found) found = k
  return found
}

/** The bearer token of a request, if any. */
export function bearer(c: Context): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')
  return m?.[1]?.trim()
}

/** Who may call an operation: a role (admin keys may do everything), `any` valid key, or `public` (no key). */
export type Access = Role | 'any' | 'public'

/** The key roles each required role lets in. */
export const ALLOWED: Record<Role | 'any', readonly Role[]> = { ingest: ['ingest', 'admin'], read: ['read', 'admin'], admin: ['admin'], any: ROLES }

/**
 * Records refused requests as `warning` audit events, at most `perIp` a
 * minute per address and `overall` a minute in all, so a flood cannot flood
 * the table; the next recorded event says how many were left out.
 */
export function authFailureRecorder(audit: AuditLogger, { perIp = 5, overall = 60 } = {}) {
  let windowStart = 0
  let total = 0
  let suppressed = 0
  const byIp = new Map<string, number>()
  return (c: Context, reason: 'missing_key' | 'invalid_key' | 'forbidden') => {
    const now = Date.now()
    if (now - windowStart >= 60_000) {
      windowStart = now
      total = 0
      byIp.clear()
    }
    const ctx = getRequestAuditContext(c)
    const ip = ctx?.ipAddress ?? 'unknown'
    const n = byIp.get(ip) ?? 0
    if (n >= perIp || total >= overall) {
      suppressed++
      return
    }
    if (byIp.size < 10_000) byIp.set(ip, n + 1)
    total++
    const extraInfo: Record<string, unknown> = { method: c.req.method, path: c.req.path, reason, ...forwardedForInfo(ctx) }
    if (suppressed > 0) extraInfo.suppressed_since_last = suppressed
    suppressed = 0
    void audit.logEvent({
      source: 'system',
      operationType: reason === 'forbidden' ? 'access_denied' : 'auth_failed',
      result: 'warning',
      severity: 'warning',
      actorType: 'guest',
      message: `${reason === 'forbidden' ? 'Forbidden' : 'Authentication failed'}: ${c.req.method} ${c.req.path}`,
      extraInfo,
    })
  }
}

export interface AuthOptions {
  keys: readonly ApiKey[]
  onFailure?: (c: Context, reason: 'missing_key' | 'invalid_key' | 'forbidden') => void
}

/**
 * Requires an API key allowed to act as `role` (admin keys may do everything; `any`: any valid key).
 * Sets the key's name as the operator of the request's audit context.
 */
export function requireRole(role: Role | 'any', opts: AuthOptions): MiddlewareHandler {
  return async (c, next) => {
    const token = bearer(c)
    const key = token ? findKey(opts.keys, token) : null
    if (!key) {
      opts.onFailure?.(c, token ? 'invalid_key' : 'missing_key')
      throw new ApiError(401, 'Not authenticated', { 'WWW-Authenticate': 'Bearer' })
    }
    const ctx = getRequestAuditContext(c)
    if (ctx) {
      ctx.operator = key.name
      ctx.actorType = key.role === 'admin' ? 'admin' : 'service'
    }
    c.set('apiKey' as never, key as never)
    if (!ALLOWED[role].includes(key.role)) {
      opts.onFailure?.(c, 'forbidden')
      throw new ApiError(403, 'Forbidden')
    }
    await next()
  }
}
