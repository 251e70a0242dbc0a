import type { QueueStats } from '@audit/core'
import type { Context, MiddlewareHandler } from 'hono'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { routePath } from 'hono/route'

export interface Metrics {
  registry: Registry
  /** For the logger's onFlush. */
  observeFlush(ms: number, rows: number): void
  /** Where the queue figures are read at scrape time. */
  bindStats(stats: () => QueueStats): void
  httpMiddleware: MiddlewareHandler
}

/** The route pattern that answered a request (read once it has been answered), or `unmatched`. */
export function routeLabel(c: Context): string {
  return routePath(c) || 'unmatched'
}

const COUNTERS = ['enqueued', 'written', 'failed', 'retried', 'dropped', 'rejected'] as const

/** A Prometheus registry of this app (not the global one, so apps in one process stay apart). */
export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  let stats: (() => QueueStats) | undefined
  new Gauge({
    name: 'audit_queue_depth',
    help: 'Events waiting in the audit queue or being written',
    registers: [registry],
    collect() {
      if (stats) this.set(stats().queueDepth)
    },
  })
  for (const name of COUNTERS) {
    new Counter({
      name: `audit_events_${name}_total`,
      help: `Audit events ${name} (see QueueStats)`,
      registers: [registry],
      collect() {
        if (!stats) return
        this.reset()
        this.inc(stats()[name])
      },
    })
  }
  const flush = new Histogram({
    name: 'audit_flush_duration_seconds',
    help: 'Duration of one batch write to the store',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  return {
    registry,
    observeFlush: (ms) => flush.observe(ms / 1000),
    bindStats: (s) => {
      stats = s
    },
    httpMiddleware: async (c, next) => {
      const t0 = performance.now()
      await next()
      http.observe({ method: c.req.method, route: routeLabel(c), status: String(c.res.status) }, (performance.now() - t0) / 1000)
    },
  }
}
