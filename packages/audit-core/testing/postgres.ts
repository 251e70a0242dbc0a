import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'
import type { AuditStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
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

/**
 * A fresh, empty database for one test file. With TEST_DATABASE_URL it is a
 * new database on that server (dropped afterwards); without it, an in-memory
 * PGlite behind a wire-protocol socket, so the same driver code runs.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL
  if (base) {
    const name = `audit_test_${process.pid}_${randomBytes(4).toString('hex')}`
    const admin = new pg.Client({ connectionString: base })
    admin.on('error', () => {}) // a server restart while a test runs must not end the process
    await admin.connect()
    await admin.query(`create database ${name}`)
    const url = new URL(base)
    url.pathname = `/${name}`
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
  const db = await PGlite.create()
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
