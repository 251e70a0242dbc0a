import { createHash, randomBytes } from 'node:crypto'
import { readFile, readdir, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'
import type { AuditStore } from '@audit/core'
import { loadPglite, openPgliteStore } from '@audit/core/pglite'
import { openPostgresStore, type PostgresStoreOptions } from '@audit/core/postgres'

export interface TestDatabase {
  /** A connection string for node-postgres / psql. */
  url: string
  /** `server`: a fresh database on TEST_DATABASE_URL's server; `pglite`: PGlite served over the wire protocol. */
  engine: 'server' | 'pglite'
  /**
   * What the postgres store needs here. PGlite has one backend and its
   * socket server multiplexes at the message level, so concurrent
   * extended-protocol queries from two connections would interleave: one
   * connection there; its socket server does not implement COPY; and its
   * one session keeps the statements of connections already closed.
   */
  storeOptions: Pick<PostgresStoreOptions, 'connections' | 'copy' | 'prepare'>
  /** Connections a client of this database may open at once (1 on PGlite, for the reason above). */
  maxConnections: number
  /** Runs statements as the database owner, beside whatever pool the test opened. */
  exec(sql: string): Promise<void>
  drop(): Promise<void>
}

let dump: Promise<File> | undefined

/**
 * A PGlite database with every migration applied, as a dump
 * (`dumpDataDir`) to start from with `loadDataDir`: loading it takes ~3 s,
 * where a new PGlite's initdb and the migrations take ~10 s. Made once per
 * set of migrations and PGlite version, and kept in the OS temp directory
 * for the next files and runs.
 */
export function migratedPgliteDump(): Promise<File> {
  return (dump ??= (async () => {
    // the files the store applies (DEFAULT_MIGRATIONS_DIR: the repository's, or the package's copy once built)
    const dir = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../../supabase/migrations/' : '../migrations/', import.meta.url))
    const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort()
    const migrations = await Promise.all(names.map(async (name) => ({ name, sql: await readFile(path.join(dir, name), 'utf8') })))
    // PGlite's resolved path names its version: a dump is loaded only by the version that made it
    const key = createHash('sha256')
      .update(import.meta.resolve('@electric-sql/pglite'))
      .update(migrations.map((m) => `${m.name}\n${m.sql}`).join('\n'))
      .digest('hex')
      .slice(0, 16)
    const file = path.join(os.tmpdir(), `audit-pglite-migrated-${key}.tar.gz`)
    const asFile = (bytes: Uint8Array<ArrayBuffer>) => new File([bytes], 'pgdata.tar.gz', { type: 'application/x-gzip' })
    const cached = await readFile(file).catch(() => null)
    if (cached) return asFile(cached)
    const store = await openPgliteStore({ dataDir: 'memory://' })
    const bytes = new Uint8Array(await (await store.db.dumpDataDir('gzip')).arrayBuffer())
    await store.close()
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, bytes)
    await rename(tmp, file) // whole or not at all, whichever test file writes it
    return asFile(bytes)
  })())
}

export interface TestDatabaseOptions {
  /** Start with every migration applied (on PGlite, from {@link migratedPgliteDump}). */
  migrated?: boolean
}

/**
 * A fresh database for one test file, empty unless `migrated`. With
 * TEST_DATABASE_URL it is a new database on that server (dropped
 * afterwards); without it, an in-memory PGlite behind a wire-protocol
 * socket, so the same driver code runs.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL
  if (base) {
    const name = `audit_test_${process.pid}_${randomBytes(4).toString('hex')}`
    const admin = new pg.Client({ connectionString: base })
    admin.on('error', () => {}) // a server restart while a test runs must not end the process
    await admin.connect()
    await admin.query(`create database ${name}`)
    const url = new URL(base)
    url.pathname = `/${name}`
    if (options.migrated) await (await openPostgresStore({ databaseUrl: url.toString() })).close()
    return {
      url: url.toString(),
      engine: 'server',
      storeOptions: {},
      maxConnections: 10,
      async exec(text) {
        const client = new pg.Client({ connectionString: url.toString() })
        await client.connect()
        try {
          await client.query(text)
        } finally {
          await client.end()
        }
      },
      async drop() {
        await admin.query(`drop database if exists ${name} with (force)`)
        await admin.end()
      },
    }
  }
  const { PGlite, extensions } = await loadPglite()
  const db = await PGlite.create({ extensions, ...(options.migrated ? { loadDataDir: await migratedPgliteDump() } : {}) })
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 })
  await server.start()
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    engine: 'pglite',
    // one backend for every connection: a statement prepared on a connection since closed is still there
    storeOptions: { connections: 'one', copy: false, prepare: false },
    maxConnections: 1,
    async exec(text) {
      await db.exec(text)
    },
    async drop() {
      await server.stop()
      await db.close()
    },
  }
}

/** Where the tests run, for the log: CI must show both engines ran. */
export function describeEngine(): string {
  return process.env.TEST_DATABASE_URL ? 'postgres server (TEST_DATABASE_URL)' : 'pglite (no TEST_DATABASE_URL)'
}

/**
 * The two ways the API's own tests run a store: PGlite in memory, and the
 * postgres store on a fresh test database (the server with
 * TEST_DATABASE_URL, else PGlite over the wire). Each `open` gives the
 * store and what removes it.
 *
 * @example
 * for (const [engine, open] of storeEngines()) describe(`… on ${engine}`, () => { … })
 */
export function storeEngines(): [string, () => Promise<{ store: AuditStore; done: () => Promise<void> }>][] {
  return [
    ['pglite', async () => ({ store: await openPgliteStore({ dataDir: 'memory://' }), done: async () => {} })],
    [
      `postgres store on ${describeEngine()}`,
      async () => {
        const db = await createTestDatabase()
        return { store: await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions }), done: () => db.drop() }
      },
    ],
  ]
}
