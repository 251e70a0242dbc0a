import { createPublicKey, type KeyObject } from 'node:crypto'
import { ConfigError, loadConfig, loadKey, type AuditConfig } from '@audit/core'
import { parseTrustProxy, type TrustProxy } from '@audit/core/hono'
import { parseApiKeys, type ApiKey } from './auth.ts'
import { DEFAULT_RETENTION, deletesAnything, parseRetention, parseSchedule, type DailyTime, type RetentionPolicy } from './retention.ts'

/** Totals are exact up to this many events, estimated past it (see bench/README.md). */
export const DEFAULT_COUNT_CAP = 1_000
/** Levels LOG_LEVEL may name. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** An export whose client reads nothing for this long is abandoned and its connection freed. */
export const DEFAULT_EXPORT_IDLE_TIMEOUT_MS = 60_000

/** Everything the server reads from its environment. */
export interface ServerConfig {
  audit: AuditConfig
  host: string
  port: number
  /** Configured keys; empty means "generate an admin key on first start" (loopback only). */
  apiKeys: ApiKey[]
  maxBodyBytes: number
  cronSecret: string | undefined
  /** AUDIT_TRUST_PROXY: false, a hop count (`true` = 1), or trusted proxy addresses and CIDR ranges. */
  trustProxy: TrustProxy
  logLevel: string
  exportMaxRows: number
  exportIdleTimeoutMs: number
  /** AUDIT_EXPORT_LINK_SECRET: signs export download links; unset, each process makes its own. */
  exportLinkSecret: string | undefined
  countCap: number
  retention: RetentionPolicy
  /** null: no in-process schedule (AUDIT_RETENTION_SCHEDULE=off, or a policy that keeps everything). */
  retentionSchedule: DailyTime | null
  /** AUDIT_SIGNING_KEY: signs checkpoints (Ed25519); none: nothing is signed. */
  signingKey: KeyObject | undefined
  /** AUDIT_VERIFY_PUBLIC_KEY, or the public half of the signing key: checks signatures in GET /api/v1/audit/verify. */
  verifyPublicKey: KeyObject | undefined
  /** AUDIT_CHECKPOINT_SIGN_INTERVAL, in seconds (default 60). */
  signIntervalMs: number
  /** AUDIT_CHECKPOINT_DIR: where signed checkpoints are appended as NDJSON. */
  checkpointDir: string | undefined
}

/**
 * Reads the server settings; throws {@link ConfigError} naming every bad variable.
 *
 * @example
 * const config = loadServerConfig(process.env)
 */
export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const problems: string[] = []
  let audit: AuditConfig | undefined
  try {
    audit = loadConfig(env)
  } catch (e) {
    problems.push((e as Error).message)
  }
  const port = Number(env.PORT ?? 8787)
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be a port number, got "${env.PORT}"`)
  const maxBodyBytes = Number(env.AUDIT_MAX_BODY_BYTES ?? 1024 * 1024)
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) problems.push(`AUDIT_MAX_BODY_BYTES must be a whole number of at least 1024, got "${env.AUDIT_MAX_BODY_BYTES}"`)
  let apiKeys: ApiKey[] = []
  try {
    apiKeys = parseApiKeys(env.AUDIT_API_KEYS ?? '')
  } catch (e) {
    problems.push((e as Error).message)
  }
  const exportMaxRows = Number(env.AUDIT_EXPORT_MAX_ROWS ?? 1_000_000)
  if (!Number.isInteger(exportMaxRows) || exportMaxRows < 1) problems.push(`AUDIT_EXPORT_MAX_ROWS must be a positive whole number, got "${env.AUDIT_EXPORT_MAX_ROWS}"`)
  const exportIdleTimeoutMs = Number(env.AUDIT_EXPORT_IDLE_TIMEOUT_MS ?? DEFAULT_EXPORT_IDLE_TIMEOUT_MS)
  if (!Number.isInteger(exportIdleTimeoutMs) || exportIdleTimeoutMs < 1000) problems.push(`AUDIT_EXPORT_IDLE_TIMEOUT_MS must be a whole number of at least 1000, got "${env.AUDIT_EXPORT_IDLE_TIMEOUT_MS}"`)
  const exportLinkSecret = env.AUDIT_EXPORT_LINK_SECRET?.trim() || undefined
  if (exportLinkSecret && exportLinkSecret.length < 32) problems.push('AUDIT_EXPORT_LINK_SECRET must be at least 32 characters')
  const countCap = Number(env.AUDIT_COUNT_CAP ?? DEFAULT_COUNT_CAP)
  if (!Number.isInteger(countCap) || countCap < 1) problems.push(`AUDIT_COUNT_CAP must be a positive whole number, got "${env.AUDIT_COUNT_CAP}"`)
  const logLevel = env.LOG_LEVEL?.trim() || 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`)
  let trustProxy: TrustProxy = false
  try {
    trustProxy = parseTrustProxy(env.AUDIT_TRUST_PROXY ?? '')
  } catch (e) {
    problems.push((e as Error).message)
  }
  let retention = parseRetention(DEFAULT_RETENTION)
  let retentionSchedule: ServerConfig['retentionSchedule'] = null
  try {
    retention = parseRetention(env.AUDIT_RETENTION_DAYS ?? DEFAULT_RETENTION)
    retentionSchedule = deletesAnything(retention) ? parseSchedule(env.AUDIT_RETENTION_SCHEDULE ?? '03:00') : null
  } catch (e) {
    problems.push((e as Error).message)
  }
  let signingKey: KeyObject | undefined
  let verifyPublicKey: KeyObject | undefined
  try {
    signingKey = env.AUDIT_SIGNING_KEY?.trim() ? loadKey(env.AUDIT_SIGNING_KEY, 'private') : undefined
    if (signingKey && signingKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key')
  } catch (e) {
    // never quote the value: it may be the key itself
    problems.push(`AUDIT_SIGNING_KEY must be an Ed25519 private key (PKCS#8 PEM file path, PEM text or base64): ${(e as Error).message.split('\n')[0]}`)
  }
  try {
    verifyPublicKey = env.AUDIT_VERIFY_PUBLIC_KEY?.trim() ? loadKey(env.AUDIT_VERIFY_PUBLIC_KEY, 'public') : signingKey ? createPublicKey(signingKey) : undefined
  } catch (e) {
    problems.push(`AUDIT_VERIFY_PUBLIC_KEY must be an Ed25519 public key (PEM file path, PEM text or base64): ${(e as Error).message.split('\n')[0]}`)
  }
  const signInterval = Number(env.AUDIT_CHECKPOINT_SIGN_INTERVAL ?? 60)
  if (!Number.isFinite(signInterval) || signInterval < 1) problems.push(`AUDIT_CHECKPOINT_SIGN_INTERVAL must be a number of seconds (at least 1), got "${env.AUDIT_CHECKPOINT_SIGN_INTERVAL}"`)
  if (problems.length > 0 || !audit) throw new ConfigError(problems.join('; '))
  return {
    audit,
    host: env.HOST?.trim() || '127.0.0.1',
    port,
    apiKeys,
    maxBodyBytes,
    cronSecret: env.CRON_SECRET?.trim() || undefined,
    trustProxy,
    logLevel,
    exportMaxRows,
    exportIdleTimeoutMs,
    exportLinkSecret,
    countCap,
    retention,
    retentionSchedule,
    signingKey,
    verifyPublicKey,
    signIntervalMs: signInterval * 1000,
    checkpointDir: env.AUDIT_CHECKPOINT_DIR?.trim() || undefined,
  }
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
