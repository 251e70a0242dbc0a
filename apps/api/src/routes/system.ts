import { Hono } from 'hono'
import type { AuditLogger, AuditStore } from '@audit/core'
import type { Metrics } from '../metrics.ts'

/** /health and /metrics: no key needed, no event data in either. */
export function systemRoutes(deps: { audit: AuditLogger; store: AuditStore; metrics: Metrics }) {
  const app = new Hono()
  app.get('/health', async (c) => {
    const t0 = performance.now()
    let database: 'ok' | 'unavailable' = 'ok'
    try {
      await Promise.race([
        deps.store.getEvent('00000000-0000-0000-0000-000000000000'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ])
    } catch {
      database = 'unavailable'
    }
    const body = {
      status: database === 'ok' ? 'ok' : 'degraded',
      store: deps.store.kind,
      database,
      database_ms: Math.round((performance.now() - t0) * 100) / 100,
      logging: { enabled: deps.audit.enabled, async: deps.audit.async },
      queue: deps.audit.stats(),
    }
    return c.json(body, database === 'ok' ? 200 : 503)
  })
  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType)
    return c.body(await deps.metrics.registry.metrics())
  })
  return app
}
