import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package's migrations: dist/migrations, which the build copies from the
 * repository's supabase/migrations (the one source; the Supabase CLI reads
 * it). Run from its sources (the tests, tsx), this module is
 * src/stores/migrate.ts and reads that folder itself.
 */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../../../supabase/migrations' : '../migrations', import.meta.url),
)

export interface Migration {
  name: string
  sql: string
}

/** The migration files, in the order their timestamped names give. */
export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{14}_[a-z0-9_]+\.sql$/.test(n)).sort()
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(path.join(dir, name), 'utf8') })))
}

/**
 * A connection that runs one script of several statements; the migrator
 * calls it only while it holds the connection alone.
 */
export interface MigrationRunner {
  exec(sql: string): Promise<void>
  appliedNames(): Promise<string[]>
}

// Bookkeeping lives outside `public` so that PostgREST never exposes it.
export const MIGRATIONS_TABLE_SQL = `
create schema if not exists audit_meta;
create table if not exists audit_meta.schema_migrations (
  name text primary key,
  applied_at timestamptz not null default now()
);`

/**
 * Applies, in order, each migration not yet recorded, each in its own
 * transaction with its record. The migrations themselves are idempotent, so a
 * database migrated by `supabase db push` is safe to migrate here as well.
 */
export async function applyMigrations(runner: MigrationRunner, migrations: Migration[]): Promise<string[]> {
  await runner.exec(MIGRATIONS_TABLE_SQL)
  const done = new Set(await runner.appliedNames())
  const applied: string[] = []
  for (const m of migrations) {
    if (done.has(m.name)) continue
    try {
      await runner.exec(
        `begin;\n${m.sql}\n;insert into audit_meta.schema_migrations (name) values ('${m.name.replace(/'/g, "''")}') on conflict (name) do nothing;\ncommit;`,
      )
    } catch (err) {
      await runner.exec('rollback').catch(() => {})
      throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err })
    }
    applied.push(m.name)
  }
  return applied
}
