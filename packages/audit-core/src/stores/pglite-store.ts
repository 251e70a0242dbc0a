import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import path from 'node:path'
import { isMainThread } from 'node:worker_threads'
import type { PGlite, PGliteOptions } from '@electric-sql/pglite'
import { loadDriver } from './driver.ts'
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts'
import { applyMigrations, readMigrations, DEFAULT_MIGRATIONS_DIR } from './migrate.ts'
import { createSqlStore, schemaWarnings, type SqlClient } from './sql-store.ts'
import type { AuditStore } from './store.ts'

export interface PgliteStoreOptions {
  /** A directory to persist in, or `memory://` for a throwaway database. */
  dataDir: string
  migrationsDir?: string
  /** `memory://` only: start from this dump (PGlite's `dumpDataDir`), as tests start from a migrated one. */
  loadDataDir?: Blob
}

/**
 * The embedded default: Postgres compiled to WebAssembly, persisted under
 * `dataDir` (AUDIT_DATA_DIR). Migrations are applied on open.
 *
 * A persisted store is exclusive and private: it holds `<dataDir>/pglite.lock`
 * until closed (a second process refuses to open the directory, naming the
 * holder's pid), and its directories are 0700 and its files 0600. PGlite
 * creates files through Node's `fs` for as long as it runs, so while such a
 * store is open the process umask includes 077.
 *
 * @example
 * const store = await openPgliteStore({ dataDir: './.data' })
 */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<AuditStore & { db: PGlite }> {
  const { PGlite, extensions } = await loadPglite()
  if (options.dataDir.startsWith('memory://')) {
    const db = await PGlite.create(options.dataDir, { extensions, ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) })
    return prepareStore(db, options, () => db.close())
  }
  const dataDir = path.resolve(options.dataDir)
  const dir = path.join(dataDir, 'pglite')
  const restoreUmask = tightenUmask()
  let lock: DataDirLock | undefined
  let db: PGlite | undefined
  // Only the first close releases: a second call must not unlock a directory another store has opened since.
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      try {
        await db?.close()
        // Files PGlite wrote where the umask could not be set (a worker thread) are made private now.
        if (db && !restoreUmask.active) await makePrivate(dir)
      } finally {
        lock?.release()
        restoreUmask()
      }
    })())
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    lock = await lockDataDir(dataDir)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // Nobody else may enter the directory from now on, whatever the modes below it.
    await chmod(dataDir, 0o700)
    db = await PGlite.create(dir, { extensions })
    // A new database is unpacked with the modes of PGlite's template (0666), and
    // one made by an earlier version or by hand may be open too: make them private.
    // Only PGlite's own folder is walked (AUDIT_DATA_DIR may hold other things).
    await makePrivate(dir)
    return await prepareStore(db, options, close)
  } catch (e) {
    await close().catch(() => {})
    throw e
  }
}

/**
 * PGlite and the extensions every database of this store is opened with:
 * pg_trgm, which indexes `q`. A database whose migrations made that index
 * cannot be written without it, so anything that opens one (a test's copy
 * of a migrated database, a tool reading a data directory) loads these.
 *
 * @example
 * const { PGlite, extensions } = await loadPglite()
 * const db = await PGlite.create({ extensions })
 */
export async function loadPglite(): Promise<{ PGlite: typeof PGlite; extensions: NonNullable<PGliteOptions['extensions']> }> {
  return loadDriver('@electric-sql/pglite', 'PGlite store', async () => {
    const [{ PGlite }, { pg_trgm }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm')])
    return { PGlite, extensions: { pg_trgm } }
  })
}

async function prepareStore(db: PGlite, options: PgliteStoreOptions, close: () => Promise<void>): Promise<AuditStore & { db: PGlite }> {
  await applyMigrations(
    {
      exec: async (sql) => {
        await db.exec(sql)
      },
      query: async <R,>(sql: string) => (await db.query<R>(sql)).rows,
    },
    await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR),
  )
  const client: SqlClient = { query: async (text, params) => (await db.query(text, params)).rows as never }
  const store = createSqlStore('pglite', client, close)
  const warnings = await schemaWarnings(client)
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
  const insertEvents = store.insertEvents.bind(store)
  const deleteEvents = store.deleteEvents.bind(store)
  store.insertEvents = async (rows) => {
    const n = await insertEvents(rows)
    await analyzeWhenDue(n)
    return n
  }
  store.deleteEvents = async (filters, limit, reason) => {
    const n = await deleteEvents(filters, limit, reason)
    await analyzeWhenDue(n)
    return n
  }
  return Object.assign(store, { db, warnings })
}

let umaskHolders = 0
let savedUmask = 0

/**
 * Adds 077 to the process umask until the returned function is called (nested
 * opens share it). In a worker thread the umask cannot be set: `active` is
 * false and the caller makes the files private itself.
 */
function tightenUmask(): (() => void) & { active: boolean } {
  let released = false
  const restore = Object.assign(
    () => {
      if (released || !restore.active) return
      released = true
      if (--umaskHolders === 0) process.umask(savedUmask)
    },
    { active: isMainThread },
  )
  if (!restore.active) return restore
  if (umaskHolders++ === 0) {
    savedUmask = process.umask(0o077)
    process.umask(savedUmask | 0o077)
  }
  return restore
}

/** Directories 0700 and files 0600, from `dir` down (symbolic links are left alone). */
async function makePrivate(dir: string): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p)
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== 0o700) await chmod(p, 0o700)
      for (const name of await readdir(p)) await walk(path.join(p, name))
    } else if (st.isFile() && (st.mode & 0o777) !== 0o600) {
      await chmod(p, 0o600)
    }
  }
  await walk(dir)
}
