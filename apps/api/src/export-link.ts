import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ALLOWED, type ApiKey } from './auth.ts'
import { ApiError } from './errors.ts'

/** How long a download link may be used after it is made (seconds). */
export const EXPORT_LINK_TTL_S = 60

interface Claims {
  /** The name of the key that asked for the link. */
  k: string
  /** Expiry, milliseconds since the epoch. */
  e: number
  /** A random id: each link is used once. */
  n: string
  /** SHA-256 of the export's parameters, canonical (see {@link canonicalParams}). */
  q: string
}

const b64 = (b: Buffer) => b.toString('base64url')

/** The export's validated parameters, without the token, in one spelling: sorted keys, strings. */
export function canonicalParams(params: Record<string, unknown>): [string, string][] {
  return Object.entries(params)
    .filter(([k, v]) => k !== 'token' && v !== undefined)
    .map(([k, v]): [string, string] => [k, String(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

const paramsHash = (params: Record<string, unknown>) => b64(createHash('sha256').update(JSON.stringify(canonicalParams(params))).digest())

/**
 * Short-lived signed download links for exports, so that a browser's own
 * download manager can fetch one (it cannot send an Authorization header)
 * without the API key ever being put in a URL. A token is HMAC-SHA256 over
 * the key's name, an expiry, a nonce and the hash of the export's exact
 * parameters; it is good for one download, within `ttlS` seconds, while the
 * key still exists with a role that may read.
 *
 * The secret is AUDIT_EXPORT_LINK_SECRET, or random per process: then a link
 * works only on the replica that made it (the page asks and follows at once).
 *
 * @example
 * const links = exportLinks({ keys, secret: undefined })
 * const token = links.sign(key, { format: 'csv' })
 * links.verify(token, { format: 'csv' }) // the key, or throws 401/403
 */
export function exportLinks(opts: { keys: readonly ApiKey[]; secret?: string | undefined; ttlS?: number; now?: () => number }) {
  const secret = opts.secret ? Buffer.from(opts.secret) : randomBytes(32)
  const ttlMs = (opts.ttlS ?? EXPORT_LINK_TTL_S) * 1000
  const now = opts.now ?? (() => Date.now())
  // nonce → expiry of the links already used; forgotten once expired
  const used = new Map<string, number>()
  const mac = (body: string) => createHmac('sha256', secret).update(body).digest()
  return {
    ttlMs,
    /** A token for `key` to download the export with exactly these parameters; and when it expires. */
    sign(key: ApiKey, params: Record<string, unknown>): { token: string; expires: number } {
      const claims: Claims = { k: key.name, e: now() + ttlMs, n: b64(randomBytes(12)), q: paramsHash(params) }
      const body = b64(Buffer.from(JSON.stringify(claims)))
      return { token: `${body}.${b64(mac(body))}`, expires: claims.e }
    },
    /**
     * The key a token was made for, when the token is genuine, unexpired,
     * unused, for these parameters, and its key may still read; the token
     * is then spent, unless `spend` is false (HEAD). Otherwise an ApiError
     * saying which rule it broke.
     */
    verify(token: string | undefined, params: Record<string, unknown>, spend = true): ApiKey {
      if (!token) throw new ApiError(401, 'Not authenticated: this download link has no token')
      const [body = '', sig = ''] = token.split('.')
      const expected = mac(body)
      const given = Buffer.from(sig, 'base64url')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ApiError(401, 'This download link is not valid: its signature does not match')
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Claims
      const t = now()
      for (const [n, e] of used) if (e < t) used.delete(n)
      if (claims.e < t) throw new ApiError(401, `This download link expired at ${new Date(claims.e).toISOString()}: export again to get a new one`)
      if (claims.q !== paramsHash(params)) throw new ApiError(403, 'This download link was made for other export parameters (filters, format or bom): export again to get one for these')
      if (used.has(claims.n)) throw new ApiError(401, 'This download link was already used: export again to get a new one')
      const key = opts.keys.find((k) => k.name === claims.k)
      if (!key || !ALLOWED.read.includes(key.role)) throw new ApiError(403, 'The key this download link was made for may no longer read events')
      if (spend) used.set(claims.n, claims.e)
      return key
    },
  }
}

export type ExportLinks = ReturnType<typeof exportLinks>
