import postgres from 'postgres'
import { applyMigrations, readMigrations, DEFAULT_MIGRATIONS_DIR } from './migrate.ts'
import { createSqlStore } from './sql-store.ts'
import type { AuditStore } from './store.ts'

export interface PostgresStoreOptions {
  /** A Postgres server, or a Supabase project's direct or pooler connection string. */
  databaseUrl: string
  /** Apply the migrations on open (default true). */
  migrate?: boolean
  migrationsDir?: string
  /** Connection pool size (default 10). */
  max?: number
}

/**
 * A store on a Postgres server through postgres.js.
 *
 * @example
 * const store = await openPostgresStore({ databaseUrl: process.env.DATABASE_URL! })
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<AuditStore & { sql: postgres.Sql }> {
  const sql = postgres(options.databaseUrl, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: 'audit-events' },
  })
  if (options.migrate !== false) {
    await migratePostgres(sql, options.migrationsDir)
  }
  const store = createSqlStore(
    'postgres',
    { query: (text, params) => sql.unsafe(text, params as never[]) as never },
    () => sql.end({ timeout: 5 }),
  )
  return Object.assign(store, { sql })
}

/** Applies pending migrations under an advisory lock, so concurrent starts migrate once. */
export async function migratePostgres(sql: postgres.Sql, migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir)
  const conn = await sql.reserve()
  try {
    await conn`select pg_advisory_lock(hashtext('audit_events.migrate'))`
    try {
      return await applyMigrations(
        {
          exec: async (text) => {
            await conn.unsafe(text)
          },
          appliedNames: async () =>
            (await conn<{ name: string }[]>`select name from audit_meta.schema_migrations`).map((r) => r.name),
        },
        migrations,
      )
    } finally {
      await conn`select pg_advisory_unlock(hashtext('audit_events.migrate'))`
    }
  } finally {
    conn.release()
  }
}
