import net from 'node:net'
import postgres from 'postgres'
import { copyEvents, exportCsv } from './postgres-copy.ts'
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
  /**
   * Write batches with `COPY … FROM STDIN` (default true): the server spends
   * a third less time per row than in the insert function. Turn it off for
   * a connection pooler that does not pass COPY through (AUDIT_PG_COPY=off).
   */
  copy?: boolean
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
    // postgres.js documents `socket` (README, "Custom socket") but does not type it
    ...({ socket: connectNoDelay() } as object),
  })
  if (options.migrate !== false) {
    await migratePostgres(sql, options.migrationsDir)
  }
  const store = createSqlStore(
    'postgres',
    // Prepared (a third off the page's latency) unless the URL says `?prepare=false`, as a transaction pooler needs.
    { query: (text, params) => sql.unsafe(text, params as never[], { prepare: sql.options.prepare }) as never },
    () => sql.end({ timeout: 5 }),
  )
  if (options.copy !== false) {
    const insertFunction = store.insertEvents
    store.insertEvents = async (rows) => {
      if (rows.length === 0) return 0
      // A refused COPY writes nothing; the insert function then skips the
      // ids already there (a re-sent batch) or raises the data error with its SQLSTATE.
      return (await copyEvents(sql, rows)) ? rows.length : insertFunction(rows)
    }
    store.exportCsv = (filters, order) => exportCsv(sql, filters, order)
  }
  return Object.assign(store, { sql })
}

/**
 * Connections with Nagle's algorithm off. postgres.js leaves it on, and COPY
 * sends its 5-byte CopyDone in a write of its own after the data, which then
 * waits for a delayed ACK: about 40 ms a batch (30,000 rows/s against 95,000
 * with it off, bench/README.md).
 */
function connectNoDelay() {
  let next = 0
  return (o: { host: string[]; port: number[]; path?: string | false }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const i = next++ % o.host.length
      const socket = o.path ? net.connect(o.path) : net.connect({ host: o.host[i] as string, port: o.port[i] as number, noDelay: true })
      socket.once('connect', () => {
        socket.removeListener('error', reject)
        resolve(socket)
      })
      socket.once('error', reject)
    })
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
