/**
 * A stand-in for PostgREST's RPC surface, over real Postgres, for testing the
 * supabase store through its real client. PostgREST itself (and the Supabase
 * CLI) cannot be installed on these machines, so this implements the part the
 * store uses, as PostgREST does it:
 *
 * - `POST /rest/v1/rpc/{fn}` with a JSON object of named arguments, resolved
 *   against the function's argument names in the `public` schema (among
 *   overloads, the one whose names take every argument sent);
 * - the role comes from the HS256 JWT in `Authorization: Bearer` (or `apikey`)
 *   and is applied with `set local role` inside one transaction per request;
 * - a set-returning function answers a JSON array, any other function its
 *   JSON value;
 * - errors answer PostgREST's body `{code, message, details, hint}` with its
 *   status codes (42501 → 401 for anon, 403 otherwise; 42883 → 404; 23505 /
 *   23503 → 409; other 22xxx/23xxx/42xxx/P0001 → 400; connection errors → 503).
 *
 * `faults.fail(n)` makes the next n requests answer 503, as PostgREST does
 * when it cannot reach the database.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import postgres from 'postgres'

const SECRET = 'stand-in-jwt-secret-of-at-least-32-characters'
const ROLES = ['anon', 'authenticated', 'service_role']

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url')

export function signJwt(payload: Record<string, unknown>): string {
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const body = b64(JSON.stringify({ iss: 'supabase', iat: Math.floor(Date.now() / 1000), ...payload }))
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}

function verifyJwt(token: string): Record<string, unknown> | null {
  const [head, body, sig] = token.split('.')
  if (!head || !body || !sig) return null
  const want = createHmac('sha256', SECRET).update(`${head}.${body}`).digest()
  const got = Buffer.from(sig, 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>
  } catch {
    return null
  }
}

interface Signature {
  names: string[]
  types: string[]
  retset: boolean
}

function statusFor(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403
  if (code === '42883' || code === '42P01') return 404
  if (code === '23505' || code === '23503') return 409
  if (/^(08|53|57P)/.test(code)) return 503
  if (/^(22|23|42|P0)/.test(code)) return 400
  return 500
}

export async function startRpcEndpoint(databaseUrl: string, opts: { max?: number } = {}) {
  const sql = postgres(databaseUrl, { max: opts.max ?? 4, onnotice: () => {} })
  const signatures = new Map<string, Signature[]>()
  const faults = { remaining: 0, requests: 0, failed: 0, fail(n: number) { this.remaining = n } }

  /** The function called `fn` whose argument names take every given one (PostgREST resolves overloads by the names sent), fewest arguments first. */
  async function signature(fn: string, given: string[]): Promise<Signature | null> {
    if (!signatures.has(fn)) {
      // proargtypes is a zero-based oidvector ([0:n]={...}): read it as a plain list
      const rows = await sql<{ names: string[] | null; types: string; retset: boolean }[]>`
        select p.proargnames as names, array_to_string(p.proargtypes::regtype[], ',') as types, p.proretset as retset
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.proname = ${fn}
        order by p.pronargs`
      signatures.set(fn, rows.map((row) => ({ names: row.names ?? [], types: row.types ? row.types.split(',') : [], retset: row.retset })))
    }
    return signatures.get(fn)?.find((sig) => given.every((k) => sig.names.includes(k))) ?? null
  }

  const app = new Hono()
  app.post('/rest/v1/rpc/:fn', async (c) => {
    faults.requests++
    if (faults.remaining > 0) {
      faults.remaining--
      faults.failed++
      return c.json({ code: 'PGRST000', message: 'Could not connect with the database', details: null, hint: null }, 503)
    }
    const token = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? c.req.header('apikey')
    const claims = token ? verifyJwt(token) : null
    if (!claims || !ROLES.includes(String(claims.role))) {
      return c.json({ code: 'PGRST301', message: 'JWT could not be decoded', details: null, hint: null }, 401)
    }
    const role = String(claims.role)
    const fn = c.req.param('fn')
    const args = (await c.req.json().catch(() => null)) as Record<string, unknown> | null
    const sig = /^[a-z_][a-z0-9_]*$/.test(fn) && args ? await signature(fn, Object.keys(args)) : null
    if (!sig || !args) {
      return c.json({ code: 'PGRST202', message: `Could not find the function public.${fn}(${Object.keys(args ?? {}).join(', ')}) in the schema cache`, details: null, hint: null }, 404)
    }
    const params: (string | null)[] = []
    const named = Object.entries(args).map(([k, v]) => {
      const type = sig.types[sig.names.indexOf(k)] as string
      params.push(v === null || v === undefined ? null : typeof v === 'string' && type !== 'jsonb' ? v : JSON.stringify(v))
      return `${k} => $${params.length}::text::${type}`
    })
    const call = `public.${fn}(${named.join(', ')})`
    const text = sig.retset ? `select coalesce(json_agg(t), '[]'::json)::text as body from ${call} t` : `select to_json(${call})::text as body`
    try {
      const [row] = await sql.begin(async (tx) => {
        await tx.unsafe(`set local role ${role}`)
        return tx.unsafe<{ body: string }[]>(text, params)
      })
      return c.body(row?.body ?? 'null', 200, { 'Content-Type': 'application/json; charset=utf-8' })
    } catch (e) {
      const err = e as { code?: string; message?: string; detail?: string; hint?: string }
      const code = err.code && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : ''
      const status = code ? statusFor(code, role) : 503
      return c.json({ code: code || 'PGRST000', message: err.message ?? 'error', details: err.detail ?? null, hint: err.hint ?? null }, status as 400)
    }
  })

  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise((r) => server.once('listening', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serviceRoleKey: signJwt({ role: 'service_role' }),
    anonKey: signJwt({ role: 'anon' }),
    authenticatedKey: signJwt({ role: 'authenticated', sub: 'user-1' }),
    faults,
    async close() {
      await new Promise((r) => server.close(r))
      await sql.end({ timeout: 5 })
    },
  }
}
