/**
 * The server's log: JSON lines on stdout (pretty in development), secrets
 * and event values redacted, and one access line per request that carries
 * the request id every other line of that request carries too.
 */
import { getRequestAuditContext } from '@audit/core/hono'
import type { Context, MiddlewareHandler } from 'hono'
import { pinoLogger, type Env as PinoEnv } from 'hono-pino'
import pino from 'pino'
import type { ApiKey } from './auth.ts'
import { LOG_LEVELS } from './config.ts'
import { routeLabel } from './metrics.ts'

/** The request's logger (`c.var.logger`): every line it writes carries the request's `reqId`. */
export type LogEnv = PinoEnv

/**
 * What pino replaces with "[Redacted]" wherever a line carries it: secrets
 * (keys, tokens, Authorization, database URLs) and the values of an event
 * (operator, message, extra_info), which an error line about an event must
 * not repeat: its id, source, operation type and the reason say which and why.
 */
export const REDACT_PATHS = [
  ...['authorization', 'cookie', 'token', 'key', 'secret', 'password', 'apiKeys', 'cronSecret', 'databaseUrl', 'supabaseServiceRoleKey'].flatMap((k) => [k, `*.${k}`]),
  ...['AUDIT_API_KEYS', 'CRON_SECRET', 'DATABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY'].flatMap((k) => [k, `*.${k}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  ...['operator', 'message', 'extra_info', 'extraInfo'].flatMap((k) => [`event.${k}`, `events[*].${k}`]),
]

export interface ServerLoggerOptions {
  level?: string
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty?: boolean
  /** Where lines go (default stdout, written synchronously so that a line logged just before exit is not lost). */
  destination?: pino.DestinationStream
}

/**
 * The server's root logger. An unknown level falls back to `info` (the
 * configuration check then reports LOG_LEVEL).
 *
 * @example
 * const log = await createServerLogger({ level: process.env.LOG_LEVEL, pretty: process.env.NODE_ENV === 'development' })
 */
export async function createServerLogger(options: ServerLoggerOptions = {}): Promise<pino.Logger> {
  const level = (LOG_LEVELS as readonly string[]).includes(options.level ?? '') ? (options.level as string) : 'info'
  let destination = options.destination
  if (!destination && options.pretty) {
    // loaded only in development: production never pays for it
    const { default: pretty } = await import('pino-pretty')
    destination = pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' })
  }
  // No `name`: hono-pino copies the root's bindings into each request's
  // child, so a root binding would be written twice in every line.
  return pino({ level, redact: { paths: REDACT_PATHS } }, destination ?? pino.destination({ dest: 1, sync: true }))
}

/**
 * One line per request, when its response starts: `reqId` (the id echoed
 * in X-Request-Id and stored on the request's events), `method`, `route`
 * (the pattern that answered), `path`, `status`, `responseTime` (ms until
 * the response started: a streamed export goes on after it), `keyName` (the
 * API key's name, never the key) and `client` (the client's address, as
 * AUDIT_TRUST_PROXY reads it). Sets `c.var.logger`, whose lines carry the
 * same `reqId`. Needs the audit context (auditContext) to run first.
 */
export function accessLog(log: pino.Logger): MiddlewareHandler<LogEnv> {
  return pinoLogger({
    pino: log,
    http: {
      // the id is the audit context's, bound below: hono-pino must not make its own
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- hono-pino 0.10's only way to not make an id of its own
      reqId: false,
      onReqBindings: (c) => ({ reqId: getRequestAuditContext(c)?.requestId }),
      onResBindings: (c) => ({
        method: c.req.method,
        route: routeLabel(c),
        path: c.req.path,
        status: c.res.status,
        keyName: (c.get('apiKey' as never) as ApiKey | undefined)?.name,
        client: getRequestAuditContext(c)?.ipAddress,
      }),
      onResLevel: (c: Context) => (c.res.status >= 500 ? 'error' : 'info'),
      onResMessage: () => 'request',
    },
  })
}
