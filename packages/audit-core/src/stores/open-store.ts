import { resolveStoreKind, ConfigError, type AuditConfig } from '../config.ts'
import { openPgliteStore } from './pglite-store.ts'
import { openPostgresStore } from './postgres-store.ts'
import { openSupabaseStore } from './supabase-store.ts'
import type { AuditStore } from './store.ts'

/**
 * Opens the store the settings name (AUDIT_STORE; `auto`: Supabase settings,
 * then DATABASE_URL, then the embedded PGlite under AUDIT_DATA_DIR) and applies
 * migrations where the store owns them.
 *
 * @example
 * const config = loadConfig(process.env)
 * const store = await openStore(config)
 */
export async function openStore(config: AuditConfig): Promise<AuditStore> {
  const kind = resolveStoreKind(config)
  switch (kind) {
    case 'postgres':
      if (!config.databaseUrl) throw new ConfigError('AUDIT_STORE=postgres needs DATABASE_URL')
      return openPostgresStore({
        databaseUrl: config.databaseUrl,
        copy: config.pgCopy,
        connections: { read: config.pgReadConnections, write: config.writeConcurrency, export: config.exportConcurrency },
      })
    case 'supabase':
      if (!config.supabaseUrl || !config.supabaseServiceRoleKey) throw new ConfigError('AUDIT_STORE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY')
      return openSupabaseStore({ url: config.supabaseUrl, serviceRoleKey: config.supabaseServiceRoleKey })
    case 'pglite':
      return openPgliteStore({ dataDir: config.dataDir })
  }
}
