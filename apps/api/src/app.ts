import { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { DEFAULT_EXPORT_CONNECTIONS, StoreUnavailableError, type AuditLogger, type AuditStore } from '@audit/core'
import { auditContext, type TrustProxy } from '@audit/core/hono'
import pino from 'pino'
import { authFailureRecorder, type ApiKey } from './auth.ts'
import { compression } from './compression.ts'
import { ApiError } from './errors.ts'
import { accessLog, type LogEnv } from './logging.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { docsRoutes } from './routes/docs.ts'
import { eventsRoutes } from './routes/events.ts'
import { exportRoutes } from './routes/export.ts'
import { retentionRoutes } from './routes/retention.ts'
import { statsRoutes } from './routes/stats.ts'
import { meRoutes } from './routes/me.ts'
import { DEFAULT_WEB_DIST, webRoutes } from './routes/web.ts'
import { DEFAULT_RETENTION, parseRetention, type RetentionPolicy } from './retention.ts'
import { DEFAULT_COUNT_CAP, DEFAULT_EXPORT_IDLE_TIMEOUT_MS } from './config.ts'
import { systemRoutes } from './routes/system.ts'
import { defaultHook } from './validation.ts'
import { registerDocument } from './openapi.ts'

export interface AppDeps {
  store: AuditStore
  audit: AuditLogger
  keys: readonly ApiKey[]
  metrics?: Metrics
  log?: pino.Logger
  /** Largest request body (AUDIT_MAX_BODY_BYTES, default 1 MiB). */
  maxBodyBytes?: number
  /** AUDIT_EXPORT_MAX_ROWS (default 1,000,000). */
  exportMaxRows?: number
  /** AUDIT_EXPORT_CONCURRENCY: exports streaming at once; more get 503 (default 4). */
  exportConcurrency?: number
  /** AUDIT_EXPORT_IDLE_TIMEOUT_MS: an export whose client reads nothing this long is abandoned (default 60,000). */
  exportIdleTimeoutMs?: number
  /** AUDIT_COUNT_CAP: a page's total is exact up to this many events, then estimated (default 1,000). */
  countCap?: number
  /** AUDIT_RETENTION_DAYS, parsed (default: keep everything). */
  retention?: RetentionPolicy
  /** CRON_SECRET: lets a scheduler call the retention endpoint. */
  cronSecret?: string | undefined
  /** The built events page (default apps/web/dist); null serves no page. */
  webDist?: string | null
  /** AUDIT_TRUST_PROXY, parsed: which proxies' X-Forwarded-For to believe (default none). */
  trustProxy?: TrustProxy
}

/**
 * The HTTP application. It never listens: server.ts does, and tests call
 * `app.request(...)`.
 *
 * @example
 * const app = createApp({ store, audit, keys: parseApiKeys('admin:0123456789abcdef') })
 * const res = await app.request('/api/v1/audit/events', { headers: { Authorization: 'Bearer 0123456789abcdef' } })
 */
export function createApp(deps: AppDeps) {
  const log = deps.log ?? pino({ level: 'silent' })
  const metrics = deps.metrics ?? createMetrics()
  metrics.bindStats(() => deps.audit.stats())
  const auth = { keys: deps.keys, onFailure: authFailureRecorder(deps.audit) }

  const app = new OpenAPIHono<LogEnv>({ defaultHook })
  app.use('*', auditContext({ trustProxy: deps.trustProxy ?? false }))
  app.use('*', accessLog(log))
  app.use('*', metrics.httpMiddleware)
  // gzip or deflate as the client's Accept-Encoding asks: JSON, the page's assets, streamed exports
  app.use('*', compression())
  // No endpoint takes a parameter named __proto__, and a validator would never see it: copying the
  // query into an object sets the prototype instead of a key, so the unknown-parameter check misses it.
  app.use('/api/*', async (c, next) => {
    if (new URL(c.req.url).searchParams.has('__proto__')) {
      throw new ApiError(422, [{ loc: ['query', '__proto__'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }])
    }
    await next()
  })
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? 1024 * 1024,
      // The rest of the body is still on its way: answering on a kept-alive
      // connection would leave it half-read for the next request. Connection:
      // close makes Node end the connection after the answer.
      onError: () => {
        throw new ApiError(413, `Request body is larger than ${deps.maxBodyBytes ?? 1024 * 1024} bytes`, { Connection: 'close' })
      },
    }),
  )

  app.route(
    '/api/v1/audit/events/export',
    exportRoutes({
      store: deps.store,
      auth,
      maxRows: deps.exportMaxRows ?? 1_000_000,
      concurrency: deps.exportConcurrency ?? DEFAULT_EXPORT_CONNECTIONS,
      idleTimeoutMs: deps.exportIdleTimeoutMs ?? DEFAULT_EXPORT_IDLE_TIMEOUT_MS,
    }),
  )
  app.route('/api/v1/audit/events', eventsRoutes({ audit: deps.audit, store: deps.store, auth, countCap: deps.countCap ?? DEFAULT_COUNT_CAP }))
  app.route('/api/v1/audit/stats', statsRoutes({ store: deps.store, auth }))
  app.route(
    '/api/v1/audit/retention',
    retentionRoutes({ store: deps.store, audit: deps.audit, auth, policy: deps.retention ?? parseRetention(DEFAULT_RETENTION), cronSecret: deps.cronSecret }),
  )
  app.route('/api/v1/audit/me', meRoutes(auth))
  app.route('/', systemRoutes({ audit: deps.audit, store: deps.store, metrics }))
  if (deps.webDist !== null) app.route('/', webRoutes(deps.webDist ?? DEFAULT_WEB_DIST))
  app.route('/docs', docsRoutes())

  registerDocument(app)

  app.notFound((c) => c.json({ detail: 'Not Found' }, 404))
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
      return c.json({ detail: err.detail }, err.status)
    }
    if (err instanceof HTTPException && err.status < 500) return c.json({ detail: err.message }, err.status)
    // the request's logger: its lines carry the reqId of the request's access line
    const reqLog = (c.var.logger as typeof c.var.logger | undefined) ?? log
    if (err instanceof StoreUnavailableError) {
      reqLog.warn({ err: err.message }, 'audit store unavailable')
      c.header('Retry-After', '5')
      return c.json({ detail: 'The audit store is unavailable; retry later' }, 503)
    }
    reqLog.error({ err }, 'unhandled error')
    return c.json({ detail: 'Internal Server Error' }, 500)
  })
  return app
}

export type App = ReturnType<typeof createApp>
