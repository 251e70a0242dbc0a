/**
 * The server entry: reads the environment, opens the store, listens, and on
 * SIGTERM/SIGINT stops accepting, writes everything queued, closes the store
 * and exits 0 — or exits 1 with a log line saying what could not be written.
 * A start that cannot go on (a bad setting, a port in use, a data directory
 * it cannot use) is one JSON line with a short message, and exit 1.
 *
 * Production runs it as plain `node apps/api/dist/server.js`: a wrapper
 * (npx, pnpm, tsx) between the supervisor and this process may exit, or kill
 * it, before the queue is written (README, "Running in production").
 */
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { ConfigError, DataDirLockedError, createAuditLogger, openStore, type AuditLogger, type AuditStore } from '@audit/core'
import type pino from 'pino'
import { loadOrCreateAdminKey } from './admin-key.ts'
import { createApp } from './app.ts'
import { apiKey } from './auth.ts'
import { isLoopback, loadServerConfig } from './config.ts'
import { createServerLogger } from './logging.ts'
import { createMetrics } from './metrics.ts'
import { liveStreams } from './live-tail.ts'
import { STREAM_DEFAULTS } from './routes/stream.ts'
import { describePartitioning, schedulePartitionMaintenance } from './partitioning.ts'
import { runScheduledRetention, scheduleDaily } from './retention.ts'
import { startSigner } from './signer.ts'

/** How long requests already being answered may take once a stop begins; then their connections are closed. */
const HTTP_DRAIN_MS = 5_000

const log = await createServerLogger({ level: process.env.LOG_LEVEL, pretty: process.env.NODE_ENV === 'development' })

/** A start that cannot go on for a reason the person starting it can fix: one line, exit 1. */
function cannotStart(message: string): never {
  log.fatal(message)
  process.exit(1)
}

async function main() {
  // Signals are ours from the first moment. One that arrives while the store
  // opens stops the server once it is open: killing PGlite while it creates
  // its database would leave a data directory it cannot open again.
  let stop: ((reason: string, exitCode?: number) => void) | undefined
  let stopWhenStarted: string | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop) { stop(signal); return; }
    log.info({ signal }, stopWhenStarted ? 'still starting: stopping once the store is open' : 'stop requested while starting: stopping once the store is open')
    stopWhenStarted ??= signal
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  let config
  try {
    config = loadServerConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) cannotStart(`configuration error: ${e.message}`)
    throw e
  }

  let keys = config.apiKeys
  let printedKey: string | undefined
  if (keys.length === 0) {
    if (!isLoopback(config.host)) cannotStart(`refusing to listen on ${config.host} without AUDIT_API_KEYS: set keys, or listen on 127.0.0.1`)
    const admin = await loadOrCreateAdminKey(config.audit.dataDir)
    keys = [apiKey('admin', admin.key, 'local-admin')]
    printedKey = admin.key
    log.info({ file: admin.file, created: admin.created }, 'no AUDIT_API_KEYS set: using the local admin key')
  }

  let store: AuditStore
  try {
    store = await openStore(config.audit)
  } catch (e) {
    if (e instanceof DataDirLockedError) cannotStart(e.message)
    throw e
  }
  for (const warning of store.warnings ?? []) log.warn({ store: store.kind }, warning)
  const metrics = createMetrics()
  const audit = createAuditLogger({
    store,
    ...config.audit,
    source: 'system',
    log: log.child({ component: 'audit-queue' }),
    onFlush: (ms, rows) => { metrics.observeFlush(ms, rows) },
  })

  if (store.partitioning) {
    const status = await store.partitioning()
    log.info({ partitioning: status }, describePartitioning(status))
  }

  let server: Server | undefined
  let stopRetention = () => {}
  let stopMaintenance = () => {}
  // live tails never finish by themselves: end them, or the HTTP drain would wait for them
  const streams = liveStreams(STREAM_DEFAULTS.maxStreams)
  stop = shutdownOnce(log, audit, store, () => {
    stopRetention()
    stopMaintenance()
    streams.closeAll()
    return server
  })
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: writing what is queued, then exiting')
    stop('uncaughtException', 1)
  })
  if (stopWhenStarted) { stop(stopWhenStarted); return; }

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
    exportLinkSecret: config.exportLinkSecret,
    countCap: config.countCap,
    streams,
    retention: config.retention,
    cronSecret: config.cronSecret,
    ...(config.verifyPublicKey ? { trailPublicKey: config.verifyPublicKey } : {}),
  })
  // a timer that is unref'd and only reads and appends: the stop sequence need not wait for it
  if (config.signingKey && store.trail) {
    startSigner({ trail: store.trail, key: config.signingKey, intervalMs: config.signIntervalMs, dir: config.checkpointDir, log })
  }
  stopMaintenance = schedulePartitionMaintenance(store, (err) => log.error({ err }, 'partition maintenance failed'))
  if (config.retentionSchedule) {
    stopRetention = scheduleDaily(config.retentionSchedule, () => runScheduledRetention(store, audit, config.retention), (err) => log.error({ err }, 'scheduled retention run failed'))
  }

  server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
    const url = `http://${host}:${info.port}/`
    // The one line a person needs, whatever LOG_LEVEL says: the page, signed in (the README's quick start).
    log.child({}, { level: 'info' }).info({ store: store.kind, async: audit.async, url, docs: `${url}docs` }, `Audit events page: ${url}${printedKey ? `#token=${printedKey}` : ''}`)
  }) as Server
  server.once('error', (err: NodeJS.ErrnoException) => {
    log.fatal({ code: err.code }, `cannot listen on ${config.host}:${config.port}: ${LISTEN_PROBLEMS[err.code ?? ''] ?? err.message}`)
    stop('listen failed', 1)
  })
}

/** What a listen error means, for the codes a setting causes. */
const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the port is in use (stop what uses it, or set PORT)',
  EACCES: 'not allowed to use this port (below 1024 needs privileges: set PORT)',
  EADDRNOTAVAIL: 'this machine has no such address (set HOST)',
}

/**
 * The stop sequence, run once: stop accepting, let requests being answered
 * finish (bounded), write everything queued (within AUDIT_SHUTDOWN_DEADLINE_MS),
 * close the store, exit 0 — or 1 with a line saying what could not be written.
 * A second signal is logged and changes nothing: cutting the flush short is
 * what SIGKILL is for.
 */
function shutdownOnce(log: pino.Logger, audit: AuditLogger, store: AuditStore, beginStop: () => Server | undefined) {
  let stopping = false
  let exitCode = 0
  return (reason: string, code = 0) => {
    exitCode = Math.max(exitCode, code)
    if (stopping) {
      log.warn({ signal: reason, queueDepth: audit.stats().queueDepth }, 'signal while shutting down: ignored (the shutdown writes what is queued, then exits)')
      return
    }
    stopping = true
    log.info({ signal: reason, queueDepth: audit.stats().queueDepth }, 'shutting down: no new requests, writing what is queued')
    void (async () => {
      const server = beginStop()
      if (server) await closeHttp(server)
      try {
        const report = await audit.shutdown()
        if (report.unwritten > 0) {
          exitCode = 1
          log.error({ ...report, stats: audit.stats() }, `shut down with ${report.unwritten} queued events not written (${report.written} written during shutdown)`)
        }
      } catch (err) {
        exitCode = 1
        log.error({ err, stats: audit.stats() }, 'writing the queue at shutdown failed')
      }
      try {
        await store.close()
      } catch (err) {
        exitCode = 1
        log.error({ err }, 'closing the store failed')
      }
      // A signal that came while a write held the event loop (PGlite runs in
      // this thread) is read when the loop next waits for I/O: wait briefly, so
      // that it is logged rather than silently outlived.
      await new Promise((resolve) => setTimeout(resolve, 10))
      if (exitCode === 0) log.info({ stats: audit.stats() }, 'shut down: everything queued was written')
      process.exit(exitCode)
    })()
  }
}

/** Stops accepting connections and waits for requests in progress, at most HTTP_DRAIN_MS; then closes what is left. */
async function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  // a connection whose last answer ends during the drain (a live tail just ended) would otherwise stay open until its keep-alive times out
  const sweep = setInterval(() => server.closeIdleConnections(), 50)
  let timer: NodeJS.Timeout | undefined
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, HTTP_DRAIN_MS)))])
  clearTimeout(timer)
  clearInterval(sweep)
  server.closeAllConnections()
}

main().catch((err: unknown) => {
  // An error with a code (a file that cannot be read or made, a database
  // that refuses or cannot be reached) says what is wrong in its message;
  // anything else is a defect, logged with its stack.
  const code = (err as { code?: unknown } | null)?.code
  if (err instanceof Error && typeof code === 'string') log.fatal({ code }, `failed to start: ${err.message || code}`)
  else log.fatal({ err }, 'failed to start')
  process.exit(1)
})
