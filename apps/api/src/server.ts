/**
 * The server entry: reads the environment, opens the store, listens, and on
 * SIGTERM/SIGINT stops accepting, flushes the audit queue, closes the store
 * and exits 0.
 */
import { serve } from '@hono/node-server'
import { ConfigError, createAuditLogger, openStore } from '@audit/core'
import pino from 'pino'
import { loadOrCreateAdminKey } from './admin-key.ts'
import { createApp } from './app.ts'
import { apiKey } from './auth.ts'
import { isLoopback, loadServerConfig } from './config.ts'
import { createMetrics } from './metrics.ts'
import { runRetention, scheduleDaily } from './retention.ts'

async function main() {
  const log = pino({ name: 'audit-api', level: process.env.LOG_LEVEL ?? 'info' })
  let config
  try {
    config = loadServerConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      log.fatal(`configuration error: ${e.message}`)
      process.exit(2)
    }
    throw e
  }

  let keys = config.apiKeys
  let printedKey: string | undefined
  if (keys.length === 0) {
    if (!isLoopback(config.host)) {
      log.fatal(`refusing to listen on ${config.host} without AUDIT_API_KEYS: set keys, or listen on 127.0.0.1`)
      process.exit(2)
    }
    const admin = await loadOrCreateAdminKey(config.audit.dataDir)
    keys = [apiKey('admin', admin.key, 'local-admin')]
    printedKey = admin.key
    log.info({ file: admin.file, created: admin.created }, 'no AUDIT_API_KEYS set: using the local admin key')
  }

  const store = await openStore(config.audit)
  const metrics = createMetrics()
  const audit = createAuditLogger({
    store,
    ...config.audit,
    source: 'system',
    log: log.child({ component: 'audit-queue' }),
    onFlush: metrics.observeFlush,
  })
  const app = createApp({
    store,
    audit,
    keys,
    metrics,
    log,
    maxBodyBytes: config.maxBodyBytes,
    trustProxy: config.trustProxy,
    exportMaxRows: config.exportMaxRows,
    exportConcurrency: config.audit.exportConcurrency,
    exportIdleTimeoutMs: config.exportIdleTimeoutMs,
    countCap: config.countCap,
    retention: config.retention,
    cronSecret: config.cronSecret,
  })
  const stopRetention = config.retentionSchedule
    ? scheduleDaily(config.retentionSchedule, () => runRetention(store, audit, config.retention), (err) => log.error({ err }, 'scheduled retention run failed'))
    : () => {}

  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
    const url = `http://${host}:${info.port}/`
    log.info({ store: store.kind, url, async: audit.async }, 'audit events service listening')
    // The one line a person needs: the page, signed in.
    process.stdout.write(`\nAudit events page: ${url}${printedKey ? `#token=${printedKey}` : ''}\nAPI docs: ${url}docs\n\n`)
  })

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: no new requests, flushing the audit queue')
    stopRetention()
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    ;(server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.()
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())])
    const report = await audit.shutdown()
    await store.close()
    log.info({ ...report, stats: audit.stats() }, 'shut down')
    process.exit(report.unwritten > 0 ? 1 : 0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

main().catch((err) => {
  pino({ name: 'audit-api' }).fatal({ err }, 'failed to start')
  process.exit(1)
})
