import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, lstat, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runStoreConformance, seedEvents } from '@audit/core/testing'
import { DataDirLockedError, LOCK_FILE_NAME } from './data-dir-lock.ts'
import { applyMigrations, readMigrations } from './migrate.ts'
import { openPgliteStore } from './pglite-store.ts'
import { createSqlStore, NO_SEARCH_INDEX_WARNING, schemaWarnings, type SqlClient } from './sql-store.ts'

runStoreConformance('pglite (in memory)', { open: () => openPgliteStore({ dataDir: 'memory://' }) })

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url))

/** Every directory and file under `dir` (itself included) with its permission bits. */
async function modes(dir: string): Promise<{ path: string; kind: 'dir' | 'file'; mode: string }[]> {
  const out: { path: string; kind: 'dir' | 'file'; mode: string }[] = []
  const walk = async (p: string) => {
    const st = await lstat(p)
    out.push({ path: path.relative(dir, p) || '.', kind: st.isDirectory() ? 'dir' : 'file', mode: (st.mode & 0o777).toString(8) })
    if (st.isDirectory()) for (const name of await readdir(p)) await walk(path.join(p, name))
  }
  await walk(dir)
  return out
}

describe('pglite store on disk', () => {
  let parent: string
  let umask: number
  beforeAll(async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'audit-pglite-'))
    // A common default that leaves new files readable by everyone: the store must not rely on the caller's umask.
    umask = process.umask(0o022)
  })
  afterAll(async () => {
    process.umask(umask)
    await rm(parent, { recursive: true, force: true })
  })

  it('is exclusive: a second process refuses the directory, naming it and the holder; a lock left by a SIGKILLed holder is recovered', async () => {
    const dataDir = path.join(parent, 'exclusive')
    const code = `
      const { openPgliteStore } = await import(${JSON.stringify(fileURLToPath(new URL('./pglite-store.ts', import.meta.url)))})
      const { seedEvents } = await import(${JSON.stringify(fileURLToPath(new URL('../../testing/seed.ts', import.meta.url)))})
      const store = await openPgliteStore({ dataDir: ${JSON.stringify(dataDir)} })
      const rows = seedEvents(5, { seed: 7 })
      await store.insertEvents(rows)
      console.log(JSON.stringify(rows.map((r) => r.id)))
      setInterval(() => {}, 1000)`
    const holder = spawn(process.execPath, ['--import', 'tsx', '--conditions=@audit/source', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => holder.on('exit', (code, signal) => resolve(signal ?? code)))
    const ids = await new Promise<string[]>((resolve, reject) => {
      holder.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as string[]))
      holder.once('exit', (c) => reject(new Error(`the holder exited with ${c}`)))
    })

    const refused = await openPgliteStore({ dataDir }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DataDirLockedError)
    expect((refused as Error).message).toMatch(`data directory ${dataDir} is in use by process ${holder.pid} (since `)

    holder.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(true)

    const store = await openPgliteStore({ dataDir })
    try {
      for (const id of ids) expect((await store.getEvent(id))?.id).toBe(id)
      // the same process cannot open it twice either
      await expect(openPgliteStore({ dataDir })).rejects.toThrow(`data directory ${dataDir} is in use by this process`)
    } finally {
      await store.close()
    }
    expect(existsSync(path.join(dataDir, LOCK_FILE_NAME))).toBe(false)
  }, 180_000)

  it('is private: directories 0700 and files 0600 after writing events and closing, and an older directory is made private', async () => {
    const dataDir = path.join(parent, 'private')
    const rows = seedEvents(2_000, { seed: 11 })
    const store = await openPgliteStore({ dataDir })
    for (let i = 0; i < rows.length; i += 500) await store.insertEvents(rows.slice(i, i + 500))
    await store.close()
    const after = await modes(dataDir)
    expect(after.length).toBeGreaterThan(100)
    expect(after.filter((f) => f.mode !== (f.kind === 'dir' ? '700' : '600'))).toEqual([])
    // the process's own umask is as it was
    expect(process.umask(0o022)).toBe(0o022)

    // A directory left by an earlier version, readable and writable by everyone.
    await chmod(dataDir, 0o777)
    await chmod(path.join(dataDir, 'pglite'), 0o755)
    await chmod(path.join(dataDir, 'pglite', 'PG_VERSION'), 0o666)
    const again = await openPgliteStore({ dataDir })
    expect((await again.getEvent(rows[1]!.id))?.id).toBe(rows[1]!.id)
    await again.close()
    expect((await modes(dataDir)).filter((f) => f.mode !== (f.kind === 'dir' ? '700' : '600'))).toEqual([])
  }, 180_000)
})

describe('text search and pg_trgm', () => {
  const rows = seedEvents(3, { seed: 7 }).map((r, i) => ({ ...r, message: ['a Needle here', 'hay', 'more hay'][i] as string }))

  it('the store opens PGlite with pg_trgm: q is indexed and there is nothing to warn about', async () => {
    const store = await openPgliteStore({ dataDir: 'memory://' })
    try {
      expect(store.warnings).toEqual([])
      const [r] = (await store.db.query<{ ok: boolean }>("select to_regclass('public.audit_events_search_trgm_idx') is not null as ok")).rows
      expect(r?.ok).toBe(true)
    } finally {
      await store.close()
    }
  }, 60_000)

  // As on a Postgres server without the contrib package: a PGlite opened without the extension has none to create.
  it('without pg_trgm the migrations still apply, q finds by scanning, and the store has one warning to log', async () => {
    const { PGlite } = await import('@electric-sql/pglite')
    const db = await PGlite.create()
    try {
      const notices: string[] = []
      await applyMigrations(
        {
          exec: async (sql) => {
            await db.exec(sql, { onNotice: (n) => notices.push(n.message ?? '') })
          },
          query: async <R,>(sql: string) => (await db.query<R>(sql)).rows,
        },
        await readMigrations(),
      )
      expect(notices.filter((n) => n.includes('pg_trgm'))).toEqual(['pg_trgm is not available on this server: q (text search) scans the rows in range, without an index'])
      const client: SqlClient = { query: async (text, params) => (await db.query(text, params)).rows as never }
      expect(await schemaWarnings(client)).toEqual([NO_SEARCH_INDEX_WARNING])
      const store = createSqlStore('pglite', client, async () => {})
      await store.insertEvents(rows)
      const page = await store.queryEvents({ filters: { q: 'nEEDLE' }, limit: 10 })
      expect(page.events.map((e) => e.id)).toEqual([rows[0]?.id])
    } finally {
      await db.close()
    }
  }, 60_000)
})
