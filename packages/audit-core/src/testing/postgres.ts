import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import postgres from 'postgres'

export interface TestDatabase {
  /** A connection string for postgres.js / psql. */
  url: string
  /** `server`: a fresh database on TEST_DATABASE_URL's server; `pglite`: PGlite served over the wire protocol. */
  engine: 'server' | 'pglite'
  /**
   * Connections a client pool may use. PGlite has one backend and its socket
   * server multiplexes at the message level, so concurrent extended-protocol
   * queries from two connections would interleave: 1 there.
   */
  maxConnections: number
  /** Whether COPY FROM STDIN works: PGlite's socket server does not implement it (the statement hangs). */
  copy: boolean
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
    const admin = postgres(base, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    const url = new URL(base)
    url.pathname = `/${name}`
    return {
      url: url.toString(),
      engine: 'server',
      maxConnections: 10,
      copy: true,
      async exec(text) {
        const sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
        try {
          await sql.unsafe(text)
        } finally {
          await sql.end()
        }
      },
      async drop() {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
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
    maxConnections: 1,
    copy: false,
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
