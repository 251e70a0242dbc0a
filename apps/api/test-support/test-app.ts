import { createAuditLogger, type AuditLoggerOptions, type AuditStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import type { TrustProxy } from '@audit/core/hono'
import type pino from 'pino'
import { createApp } from '../src/app.ts'
import { apiKey } from '../src/auth.ts'

export const KEYS = {
  admin: 'admin-secret-0123456789',
  read: 'read-secret-0123456789',
  ingest: 'ingest-secret-0123456789',
} as const

/** An app over a store (a fresh in-memory PGlite by default) with one key of each role. */
export async function testApp(opts: { store?: AuditStore; audit?: Partial<AuditLoggerOptions>; maxBodyBytes?: number; countCap?: number; trustProxy?: TrustProxy; log?: pino.Logger } = {}) {
  const store = opts.store ?? (await openPgliteStore({ dataDir: 'memory://' }))
  const audit = createAuditLogger({ store, log: { warn() {}, error() {} }, source: 'system', ...opts.audit })
  const keys = [apiKey('admin', KEYS.admin, 'admin-key'), apiKey('read', KEYS.read, 'read-key'), apiKey('ingest', KEYS.ingest, 'ingest-key')]
  const app = createApp({ store, audit, keys, ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}), ...(opts.countCap ? { countCap: opts.countCap } : {}), ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}), ...(opts.log ? { log: opts.log } : {}) })
  interface Init { key?: string | null; body?: unknown; headers?: Record<string, string>; method?: string }
  async function call(path: string, init: Init = {}) {
    const headers: Record<string, string> = { ...init.headers }
    const key = init.key === undefined ? 'admin' : init.key
    if (key) headers.authorization = `Bearer ${KEYS[key as keyof typeof KEYS] ?? key}`
    let body: string | undefined
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
      headers['content-type'] ??= 'application/json'
    }
    const res = await app.request(path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, ...(body !== undefined ? { body } : {}) })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json: json as any }
  }
  return { app, store, audit, call, close: async () => { await audit.shutdown({ deadlineMs: 1000 }); await store.close() } }
}
