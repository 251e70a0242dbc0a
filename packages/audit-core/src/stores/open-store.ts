import { resolveStoreKind, ConfigError, type AuditConfig } from '../config.ts'
import type { AuditStore } from './store.ts'

/**
 * Opens the store the settings name (AUDIT_STORE; `auto`: Supabase settings,
 * then DATABASE_URL, then the embedded PGlite under AUDIT_DATA_DIR) and applies
 * migrations where the store owns them. The store's module, and its driver
 * (an optional peer dependency: `pg`, `@electric-sql/pglite` or
 * `@supabase/supabase-js`), load only here, so an application pays for the
 * one store it uses; a driver not installed is a `MissingDriverError`.
 *
 * @example
 * const config = loadConfig(process.env)
 * const store = await openStore(config)
 */
export async function openStore(config: AuditConfig): Promise<AuditStore> {
  switch (resolveStoreKind(config)) {
    case 'postgres': {
      if (!config.databaseUrl) throw new ConfigError('AUDIT_STORE=postgres needs DATABASE_URL')
      const { openPostgresStore } = await import('./postgres-store.ts')
      return openPostgresStore({
        databaseUrl: config.databaseUrl,
        copy: config.pgCopy,
        connections: { read: config.pgReadConnections, write: config.writeConcurrency, export: config.exportConcurrency },
      })
    }
    case 'supabase': {
      if (!config.supabaseUrl || !config.supabaseServiceRoleKey) throw new ConfigError('AUDIT_STORE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY')
      const { openSupabaseStore } = await import('./supabase-store.ts')
      return openSupabaseStore({ url: config.supabaseUrl, serviceRoleKey: config.supabaseServiceRoleKey })
    }
    case 'pglite': {
      const { openPgliteStore } = await import('./pglite-store.ts')
      return openPgliteStore({ dataDir: config.dataDir })
    }
  }
}
