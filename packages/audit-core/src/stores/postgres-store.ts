import { createHash } from 'node:crypto'
import type pg from 'pg'
import { DEFAULT_EXPORT_CONNECTIONS, DEFAULT_READ_CONNECTIONS } from '../config.ts'
import { loadDriver } from './driver.ts'
import { copyEvents, exportCsv } from './postgres-copy.ts'
import { applyMigrations, readMigrations, DEFAULT_MIGRATIONS_DIR } from './migrate.ts'
import { createSqlStore, schemaWarnings } from './sql-store.ts'
import { inIdOrder, unavailableUnlessData, type AuditStore } from './store.ts'

const STORE = 'Postgres store'

/** Connections of each kind of work; `'one'` puts all of it on one connection. */
export type PostgresConnections = { read?: number; write?: number; export?: number } | 'one'

export interface PostgresStoreOptions {
  /** A Postgres server, or a Supabase project's direct or pooler connection string; `?prepare=false` turns prepared statements off (transaction poolers). */
  databaseUrl: string
  /** Apply the migrations on open (default true); false only checks that the schema is this code's (see {@link applyMigrations}). */
  migrate?: boolean
  migrationsDir?: string
  /**
   * Connections per kind of work, each its own pool so that one kind can
   * never starve another: `read` (pages, events, stats, deletes; default
   * {@link DEFAULT_READ_CONNECTIONS}), `write` (batches; default 2, one per
   * concurrent writer), `export` (one per export streaming; default
   * {@link DEFAULT_EXPORT_CONNECTIONS}). `'one'`: everything on a single
   * connection, for a server that serves one session at a time (PGlite's
   * socket server in the tests).
   */
  connections?: PostgresConnections
  /**
   * Write batches with `COPY … FROM STDIN` (default true): the server spends
   * a third less time per row than in the insert function. Turn it off for
   * a connection pooler that does not pass COPY through (AUDIT_PG_COPY=off).
   */
  copy?: boolean
  /**
   * Prepare the page's statements on each connection (default: true unless
   * the URL says `?prepare=false`, as a transaction pooler needs).
   */
  prepare?: boolean
  /** How long to wait for a connection (from the pool, or a new one), in ms (default 5000). */
  connectTimeoutMs?: number
  /** How long a read or a write may take before its connection is given up, in ms (default 30000). */
  queryTimeoutMs?: number
}


/** The store's pools, for callers that need a connection of their own (tests, benchmarks). */
export interface PostgresPools {
  read: pg.Pool
  write: pg.Pool
  export: pg.Pool
}

/**
 * A store on a Postgres server through node-postgres: separate pools for
 * reads, batch writes and exports, batches written with `COPY` and the
 * export's CSV written by the server (pg-copy-streams).
 *
 * Every error path gives its connection back clean or destroys it: a
 * statement the server refused is rolled back; anything else (a lost
 * socket, a timeout, a cancelled export) destroys the connection, and the
 * pool opens a new one when it is next needed, so an outage ends by itself.
 *
 * @example
 * const store = await openPostgresStore({ databaseUrl: process.env.DATABASE_URL! })
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<AuditStore & { pools: PostgresPools }> {
  const url = new URL(options.databaseUrl)
  const prepare = options.prepare ?? url.searchParams.get('prepare') !== 'false'
  url.searchParams.delete('prepare')
  const connectionString = url.toString()
  const { Pool, Client } = await loadDriver('pg', STORE, async () => (await import('pg')).default)
  const copy = options.copy !== false ? await loadDriver('pg-copy-streams', STORE, () => import('pg-copy-streams')) : undefined
  const pools = makePools(Pool, connectionString, options)
  try {
    await migratePostgres(pools.write, options.migrationsDir, { apply: options.migrate !== false })
  } catch (err) {
    await endPools(pools)
    throw err
  }
  const store = createSqlStore(
    'postgres',
    {
      query: async (text, params) => {
        try {
          return (await pools.read.query(prepare ? { name: statementName(text), text, values: params } : { text, values: params })).rows as never
        } catch (err) {
          throw unavailableUnlessData(err)
        }
      },
      // unwrapped: the queue classifies a write's error by its SQLSTATE
      write: async (text, params) => (await pools.write.query(text, params)).rows as never,
    },
    () => endPools(pools),
  )
  if (copy) {
    const insertFunction = store.insertEvents.bind(store)
    store.insertEvents = async (rows) => {
      if (rows.length === 0) return 0
      // In id order, as the insert function writes too (see inIdOrder). A
      // COPY refused for a duplicate id (a re-sent batch) writes nothing;
      // the insert function then skips the ids already there.
      const ordered = inIdOrder(rows)
      return (await copyEvents(pools.write, copy, ordered)) ? rows.length : insertFunction(ordered)
    }
    store.exportCsv = (filters, order) => exportCsv(pools.export, copy, filters, order)
  }
  store.runExclusive = async (key, job) => {
    // its own connection: the job's queries use the pools, which may be a single connection
    const conn = new Client({ connectionString, application_name: 'audit-events', connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 })
    conn.on('error', () => {})
    await conn.connect()
    try {
      const [r] = (await conn.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [key])).rows
      if (!r?.ok) return false
      await job()
      await conn.query('select pg_advisory_unlock(hashtext($1))', [key])
      return true
    } finally {
      // ending the session releases the lock whatever happened
      await conn.end().catch(() => {})
    }
  }
  let warnings: string[]
  try {
    warnings = await schemaWarnings({ query: async (text, params) => (await pools.read.query(text, params)).rows as never })
  } catch (err) {
    await endPools(pools)
    throw err
  }
  return Object.assign(store, { pools, warnings })
}

function makePools(Pool: typeof pg.Pool, connectionString: string, options: PostgresStoreOptions): PostgresPools {
  const common: pg.PoolConfig = {
    connectionString,
    application_name: 'audit-events',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // a connection that a crashed or restarted server left half-open is found by the kernel
    keepAlive: true,
    idleTimeoutMillis: 30_000,
  }
  const timed = { ...common, query_timeout: options.queryTimeoutMs ?? 30_000 }
  const c = options.connections ?? {}
  if (c === 'one') {
    const pool = watch(new Pool({ ...timed, max: 1 }))
    return { read: pool, write: pool, export: pool }
  }
  return {
    read: watch(new Pool({ ...timed, max: c.read ?? DEFAULT_READ_CONNECTIONS })),
    write: watch(new Pool({ ...timed, max: c.write ?? 2 })),
    // an export streams for as long as its client reads: no query timeout
    export: watch(new Pool({ ...common, max: c.export ?? DEFAULT_EXPORT_CONNECTIONS })),
  }
}

/**
 * A connection that the server closes (restart, pg_terminate_backend) emits
 * 'error' on its client, and on the pool too while idle; unheard, either
 * would end the process. The statement in progress is rejected with the
 * same error, its caller destroys the client, and an idle one is dropped by
 * the pool, so there is nothing else to do here.
 */
function watch(pool: pg.Pool): pg.Pool {
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}

async function endPools(pools: PostgresPools): Promise<void> {
  await Promise.all([...new Set([pools.read, pools.write, pools.export])].map((p) => p.end()))
}

/** A prepared statement's name, the same for the same text on every connection. */
function statementName(text: string): string {
  return `audit_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
}

/**
 * Checks the schema version and applies pending migrations under an
 * advisory lock, so concurrent starts migrate once; `apply: false` only checks.
 *
 * @example
 * await migratePostgres(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
 */
export async function migratePostgres(pool: pg.Pool, migrationsDir = DEFAULT_MIGRATIONS_DIR, options: { apply?: boolean } = {}): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir)
  const conn = await pool.connect()
  let broken: unknown
  try {
    await conn.query(`select pg_advisory_lock(hashtext('audit_events.migrate'))`)
    try {
      return await applyMigrations(
        {
          exec: async (text) => {
            await conn.query(text)
          },
          query: async <R,>(sql: string) => (await conn.query(sql)).rows as R[],
        },
        migrations,
        options,
      )
    } finally {
      await conn.query(`select pg_advisory_unlock(hashtext('audit_events.migrate'))`)
    }
  } catch (err) {
    broken = err
    throw err
  } finally {
    // a connection that saw an error may still hold the lock or a transaction: never reuse it
    conn.release(broken ? true : undefined)
  }
}
