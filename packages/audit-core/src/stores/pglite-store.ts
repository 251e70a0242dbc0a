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
  // PGlite has no autovacuum: refresh the planner's statistics as its
  // defaults would (after 50 + 10% of the rows changed), so that plans and
  // estimated totals follow the table as it grows.
  let changed = 0
  let tuples = 0
  const analyzeWhenDue = async (n: number) => {
    changed += n
    if (changed <= 50 + 0.1 * tuples) return
    changed = 0
    await db.exec('analyze public.audit_events')
    const [r] = (await db.query<{ n: number }>("select reltuples::float8 as n from pg_class where oid = 'public.audit_events'::regclass")).rows
    tuples = Math.max(0, r?.n ?? 0)
  }
  const { insertEvents, deleteEvents } = store
  store.insertEvents = async (rows) => {
    const n = await insertEvents(rows)
    await analyzeWhenDue(n)
    return n
  }
  store.deleteEvents = async (filters, limit) => {
    const n = await deleteEvents(filters, limit)
    await analyzeWhenDue(n)
    return n
  }
  return Object.assign(store, { db })
}
