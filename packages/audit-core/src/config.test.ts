import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, resolveStoreKind } from './config.ts'

describe('loadConfig', () => {
  it("keeps the seed's names and defaults", () => {
    expect(loadConfig({})).toMatchObject({ enabled: true, async: true, queueSize: 1000, batchSize: 100, flushIntervalMs: 1000, storeKind: 'auto', dataDir: './.data' })
    expect(loadConfig({})).toMatchObject({ pgReadConnections: 8, exportConcurrency: 4 })
    expect(loadConfig({ AUDIT_PG_READ_CONNECTIONS: '3', AUDIT_EXPORT_CONCURRENCY: '1' })).toMatchObject({ pgReadConnections: 3, exportConcurrency: 1 })
    expect(() => loadConfig({ AUDIT_EXPORT_CONCURRENCY: '0' })).toThrow(/AUDIT_EXPORT_CONCURRENCY must be a whole number from 1/)
    expect(loadConfig({ AUDIT_LOGGING_ENABLED: 'false', AUDIT_LOGGING_ASYNC: '0', AUDIT_LOGGING_QUEUE_SIZE: '50' })).toMatchObject({ enabled: false, async: false, queueSize: 50 })
  })

  it('names every bad variable in one clear error', () => {
    const bad = () => loadConfig({ AUDIT_LOGGING_ASYNC: 'maybe', AUDIT_LOGGING_QUEUE_SIZE: '-3', AUDIT_STORE: 'mysql' })
    expect(bad).toThrow(ConfigError)
    expect(bad).toThrow(/AUDIT_LOGGING_ASYNC must be true or false, got "maybe".*AUDIT_LOGGING_QUEUE_SIZE must be a whole number from 1.*AUDIT_STORE must be one of auto, pglite, postgres, supabase/)
  })
})

describe('AUDIT_STORE=auto', () => {
  const supabase = { SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k' }
  it('picks supabase when its URL and key are set, then DATABASE_URL, then PGlite', () => {
    expect(resolveStoreKind(loadConfig({ ...supabase, DATABASE_URL: 'postgres://h/db' }))).toBe('supabase')
    expect(resolveStoreKind(loadConfig({ SUPABASE_URL: 'https://x.supabase.co', DATABASE_URL: 'postgres://h/db' }))).toBe('postgres')
    expect(resolveStoreKind(loadConfig({}))).toBe('pglite')
    expect(resolveStoreKind(loadConfig({ ...supabase, AUDIT_STORE: 'pglite' }))).toBe('pglite')
  })
})
