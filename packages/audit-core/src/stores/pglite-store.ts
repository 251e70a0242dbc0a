import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { applyMigrations, readMigrations, DEFAULT_MIGRATIONS_DIR } from './migrate.ts'
import { createSqlStore } from './sql-store.ts'
import type { AuditStore } from './store.ts'

export interface PgliteStoreOptions {
  /** A directory to persist in, or `memory://` for a throwaway database. */
  dataDir: string
  migrationsDir?: string
}

/**
 * The embedded default: Postgres compiled to WebAssembly, persisted under
 * `dataDir` (AUDIT_DATA_DIR). Migrations are applied on open.
 *
 * @example
 * const store = await openPgliteStore({ dataDir: './.data' })
 */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<AuditStore & { db: PGlite }> {
  const memory = options.dataDir.startsWith('memory://')
  const dir = memory ? options.dataDir : `${options.dataDir.replace(/\/$/, '')}/pglite`
  if (!memory) await mkdir(dir, { recursive: true })
  const db = await PGlite.create(dir)
  await applyMigrations(
    {
      exec: async (sql) => {
        await db.exec(sql)
      },
      appliedNames: async () =>
        (await db.query<{ name: string }>('select name from audit_meta.schema_migrations')).rows.map((r) => r.name),
    },
    await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR),
  )
  const store = createSqlStore(
    'pglite',
    { query: async (text, params) => (await db.query(text, params)).rows as never },
    () => db.close(),
  )
  return Object.assign(store, { db })
}
