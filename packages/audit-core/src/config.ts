import { z } from 'zod'

/** The postgres store's connections for reads, unless AUDIT_PG_READ_CONNECTIONS says otherwise. */
export const DEFAULT_READ_CONNECTIONS = 8
/** Exports streaming at once, unless AUDIT_EXPORT_CONCURRENCY says otherwise. */
export const DEFAULT_EXPORT_CONNECTIONS = 4

const bool = (name: string, fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback
      const s = v.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(s)) return true
      if (['0', 'false', 'no', 'off'].includes(s)) return false
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` })
      return z.NEVER
    })

const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback
      const n = Number(v)
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max}, got "${v}"` })
        return z.NEVER
      }
      return n
    })

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined))

export const STORE_KINDS = ['auto', 'pglite', 'postgres', 'supabase'] as const
export type StoreChoice = (typeof STORE_KINDS)[number]

const EnvSchema = z.object({
  AUDIT_LOGGING_ENABLED: bool('AUDIT_LOGGING_ENABLED', true),
  AUDIT_LOGGING_ASYNC: bool('AUDIT_LOGGING_ASYNC', true),
  AUDIT_LOGGING_QUEUE_SIZE: int('AUDIT_LOGGING_QUEUE_SIZE', 1000, 1),
  AUDIT_BATCH_SIZE: int('AUDIT_BATCH_SIZE', 100, 1, 10_000),
  AUDIT_FLUSH_INTERVAL_MS: int('AUDIT_FLUSH_INTERVAL_MS', 1000, 1),
  AUDIT_WRITE_CONCURRENCY: int('AUDIT_WRITE_CONCURRENCY', 2, 1, 16),
  AUDIT_RETRY_BASE_MS: int('AUDIT_RETRY_BASE_MS', 200, 1),
  AUDIT_RETRY_MAX_MS: int('AUDIT_RETRY_MAX_MS', 30_000, 1),
  AUDIT_SHUTDOWN_DEADLINE_MS: int('AUDIT_SHUTDOWN_DEADLINE_MS', 10_000, 0),
  AUDIT_INGEST_WAIT_MS: int('AUDIT_INGEST_WAIT_MS', 5_000, 1, 600_000),
  AUDIT_STORE: z
    .string()
    .optional()
    .transform((v) => (v ?? 'auto').trim().toLowerCase() || 'auto')
    .pipe(z.enum(STORE_KINDS, { error: `AUDIT_STORE must be one of ${STORE_KINDS.join(', ')}` })),
  DATABASE_URL: optionalText,
  AUDIT_PG_COPY: bool('AUDIT_PG_COPY', true),
  AUDIT_PG_READ_CONNECTIONS: int('AUDIT_PG_READ_CONNECTIONS', DEFAULT_READ_CONNECTIONS, 1, 1000),
  AUDIT_EXPORT_CONCURRENCY: int('AUDIT_EXPORT_CONCURRENCY', DEFAULT_EXPORT_CONNECTIONS, 1, 1000),
  SUPABASE_URL: optionalText,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  AUDIT_DATA_DIR: optionalText.transform((v) => v ?? './.data'),
})

/** Settings of the audit logger and its store, from the environment. */
export interface AuditConfig {
  /** AUDIT_LOGGING_ENABLED: false makes logging a no-op. */
  enabled: boolean
  /** AUDIT_LOGGING_ASYNC: false makes each call await its own write. */
  async: boolean
  /** AUDIT_LOGGING_QUEUE_SIZE: events held in memory at most. */
  queueSize: number
  /** AUDIT_BATCH_SIZE: flush when this many are queued. */
  batchSize: number
  /** AUDIT_FLUSH_INTERVAL_MS: flush at least this often. */
  flushIntervalMs: number
  /** AUDIT_WRITE_CONCURRENCY: batches written at the same time (2 doubles ingest on a server; see bench/README.md). */
  writeConcurrency: number
  /** AUDIT_RETRY_BASE_MS / AUDIT_RETRY_MAX_MS: backoff of a failed batch. */
  retryBaseMs: number
  retryMaxMs: number
  /** AUDIT_SHUTDOWN_DEADLINE_MS: how long shutdown may spend writing what is queued. */
  shutdownDeadlineMs: number
  /** AUDIT_INGEST_WAIT_MS: how long an ingest request may wait for room and then for its commit before 503 (its events withdrawn). */
  ingestWaitMs: number
  /** AUDIT_STORE */
  storeKind: StoreChoice
  databaseUrl: string | undefined
  /** AUDIT_PG_COPY: the postgres store writes batches with COPY (off for a pooler that does not pass COPY through). */
  pgCopy: boolean
  /** AUDIT_PG_READ_CONNECTIONS: the postgres store's connections for reads (writes have AUDIT_WRITE_CONCURRENCY, exports AUDIT_EXPORT_CONCURRENCY). */
  pgReadConnections: number
  /** AUDIT_EXPORT_CONCURRENCY: exports streaming at once (each holds a connection); more are refused with 503. */
  exportConcurrency: number
  supabaseUrl: string | undefined
  supabaseServiceRoleKey: string | undefined
  dataDir: string
}

/** A setting that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads the audit settings from an environment, with the seed's names and defaults.
 * Throws {@link ConfigError} listing every bad variable.
 *
 * @example
 * const config = loadConfig(process.env)
 * const audit = createAuditLogger({ store: await openStore(config), ...config })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AuditConfig {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => i.message).join('; '))
  }
  const e = parsed.data
  return {
    enabled: e.AUDIT_LOGGING_ENABLED,
    async: e.AUDIT_LOGGING_ASYNC,
    queueSize: e.AUDIT_LOGGING_QUEUE_SIZE,
    batchSize: e.AUDIT_BATCH_SIZE,
    flushIntervalMs: e.AUDIT_FLUSH_INTERVAL_MS,
    writeConcurrency: e.AUDIT_WRITE_CONCURRENCY,
    retryBaseMs: e.AUDIT_RETRY_BASE_MS,
    retryMaxMs: e.AUDIT_RETRY_MAX_MS,
    shutdownDeadlineMs: e.AUDIT_SHUTDOWN_DEADLINE_MS,
    ingestWaitMs: e.AUDIT_INGEST_WAIT_MS,
    storeKind: e.AUDIT_STORE,
    databaseUrl: e.DATABASE_URL,
    pgCopy: e.AUDIT_PG_COPY,
    pgReadConnections: e.AUDIT_PG_READ_CONNECTIONS,
    exportConcurrency: e.AUDIT_EXPORT_CONCURRENCY,
    supabaseUrl: e.SUPABASE_URL,
    supabaseServiceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY,
    dataDir: e.AUDIT_DATA_DIR,
  }
}

/** Which store AUDIT_STORE=auto means for these settings. */
export function resolveStoreKind(config: Pick<AuditConfig, 'storeKind' | 'databaseUrl' | 'supabaseUrl' | 'supabaseServiceRoleKey'>) {
  if (config.storeKind !== 'auto') return config.storeKind
  if (config.supabaseUrl && config.supabaseServiceRoleKey) return 'supabase'
  if (config.databaseUrl) return 'postgres'
  return 'pglite'
}
