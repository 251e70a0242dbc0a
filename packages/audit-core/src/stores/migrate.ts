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
  /** The file name, `YYYYMMDDHHMMSS_name.sql`. */
  name: string
  /** The 14-digit prefix: the Supabase CLI's version of the file. */
  version: string
  sql: string
}

const FILE = /^(\d{14})_([a-z0-9_]+)\.sql$/

/** The migration files, in the order their timestamped names give. */
export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => FILE.test(n)).sort()
  return Promise.all(names.map(async (name) => ({ name, version: name.slice(0, 14), sql: await readFile(path.join(dir, name), 'utf8') })))
}

/**
 * A connection that runs one script of several statements; the migrator
 * calls it only while it holds the connection alone.
 */
export interface MigrationRunner {
  exec(sql: string): Promise<void>
  query<R>(sql: string): Promise<R[]>
}

/**
 * The Supabase CLI's ledger, in the CLI's own shape and made the way the CLI
 * makes it (supabase/cli, pkg/migration/history.go), so that whichever of
 * the two arrives first the table is the same: `supabase db push` and this
 * migrator each skip what the other applied. The ledger that earlier
 * versions kept (audit_meta.schema_migrations, by file name) is copied in
 * and dropped.
 */
export const LEDGER_SQL = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
do $$
begin
  if to_regclass('audit_meta.schema_migrations') is not null then
    insert into supabase_migrations.schema_migrations (version, name)
      select left(name, 14), substring(name from 16 for length(name) - 19)
      from audit_meta.schema_migrations where name ~ '^[0-9]{14}_.*[.]sql$'
      on conflict (version) do nothing;
    drop table audit_meta.schema_migrations;
    if not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = 'audit_meta')
       and not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'audit_meta') then
      drop schema audit_meta;
    end if;
  end if;
end $$;`

/** Where the database's schema stands against the code's migrations. */
export interface SchemaStatus {
  /** Versions the ledger records. */
  applied: string[]
  /** Files of this code the ledger does not record. */
  pending: Migration[]
  /** Recorded versions newer than this code's newest file: a newer version of the code migrated this database. */
  ahead: string[]
}

/** The database's schema is ahead of this code, or (when migrating is off) behind it. */
export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError'
  constructor(
    message: string,
    /** `SCHEMA_AHEAD` or `SCHEMA_BEHIND`, for a caller that reports errors by code. */
    readonly code: 'SCHEMA_AHEAD' | 'SCHEMA_BEHIND',
  ) {
    super(message)
  }
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Compares the ledger with the code's migrations. The ledger may be absent (nothing applied). */
export async function schemaStatus(runner: MigrationRunner, migrations: Migration[]): Promise<SchemaStatus> {
  const [exists] = await runner.query<{ t: string | null }>("select to_regclass('supabase_migrations.schema_migrations')::text as t")
  const applied = exists?.t ? (await runner.query<{ version: string }>('select version from supabase_migrations.schema_migrations order by version')).map((r) => r.version) : []
  const done = new Set(applied)
  const newest = migrations.at(-1)?.version ?? ''
  return {
    applied,
    pending: migrations.filter((m) => !done.has(m.version)),
    // an older unknown version is another project's migration sharing the ledger (supabase db push of an app): not ours to judge
    ahead: applied.filter((v) => v > newest && !migrations.some((m) => m.version === v)),
  }
}

function aheadError(status: SchemaStatus, migrations: Migration[]): SchemaVersionError {
  return new SchemaVersionError(
    `the database schema is ahead of this code: it has migration(s) ${status.ahead.join(', ')}, newer than this code's newest (${migrations.at(-1)?.name ?? 'none'}). ` +
      'A newer version of audit-events migrated it; run that version (or newer).',
    'SCHEMA_AHEAD',
  )
}

/**
 * Checks the schema version and applies, in order, each migration the
 * ledger does not record, each in its own transaction with its ledger row.
 * Refuses to start when the database is ahead of the code (it has versions
 * newer than any this code knows). With `apply: false` it only checks, and
 * a database behind the code is refused too. Returns the names applied.
 *
 * @example
 * await applyMigrations(runner, await readMigrations())
 */
export async function applyMigrations(runner: MigrationRunner, migrations: Migration[], options: { apply?: boolean } = {}): Promise<string[]> {
  if (options.apply === false) {
    const status = await schemaStatus(runner, migrations)
    if (status.ahead.length > 0) throw aheadError(status, migrations)
    if (status.pending.length > 0) {
      throw new SchemaVersionError(
        `the database schema is behind this code: ${status.pending.length} migration(s) not applied (${status.pending.map((m) => m.name).join(', ')}). ` +
          'Apply them with `supabase db push`, or start with migrations on.',
        'SCHEMA_BEHIND',
      )
    }
    return []
  }
  await runner.exec(LEDGER_SQL)
  const status = await schemaStatus(runner, migrations)
  if (status.ahead.length > 0) throw aheadError(status, migrations)
  const applied: string[] = []
  for (const m of status.pending) {
    const record = `insert into supabase_migrations.schema_migrations (version, name, statements) values (${quote(m.version)}, ${quote(m.name.slice(15, -4))}, array[${quote(m.sql)}]) on conflict (version) do nothing;`
    try {
      await runner.exec(`begin;\n${m.sql}\n;${record}\ncommit;`)
    } catch (err) {
      await runner.exec('rollback').catch(() => {})
      throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err })
    }
    applied.push(m.name)
  }
  return applied
}
