/**
 * A start that cannot go on, as the built server does it under a
 * supervisor: a bad setting, a port in use, a data directory it cannot use.
 * Each is one JSON line with a short message, no stack trace, no secret, and
 * exit code 1.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgliteStore } from '@audit/core/pglite'
import { PRODUCTION, freePort, spawnServer } from './server-process.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'audit-start-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the server until it exits; returns its exit code, its JSON lines and all it wrote. */
async function failedStart(env: Record<string, string>) {
  const proc = spawnServer({ AUDIT_STORE: 'pglite', DATABASE_URL: '', AUDIT_RETENTION_SCHEDULE: 'off', ...env }, PRODUCTION)
  const { code } = await proc.exited
  await proc.closed
  const output = proc.output()
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string })
  return { code, lines, output }
}

describe('a start that cannot go on: one line, exit 1', () => {
  it('a malformed AUDIT_API_KEYS says which entry and what is wrong, never the secret', async () => {
    const secret = 'sk_live_the-whole-secret-0123456789'
    const { code, lines, output } = await failedStart({ AUDIT_DATA_DIR: path.join(dir, 'keys'), PORT: '0', AUDIT_API_KEYS: `admin:ops:0123456789abcdef,${secret}` })
    expect(code).toBe(1)
    expect(lines).toEqual([expect.objectContaining({ level: 60, msg: 'configuration error: AUDIT_API_KEYS: entry 2 of 2 has no role: write role:key or role:name:key (roles ingest, read, admin)' })])
    expect(output).not.toContain(secret)
    expect(output).not.toMatch(/^\s+at /m)
  }, 120_000)

  it('a database migrated by a newer version: the schema is ahead of this code', async () => {
    const dataDir = path.join(dir, 'ahead')
    // only the ledger (no migrations: an empty folder), with a version from a newer release; the server refuses before it migrates anything
    const none = path.join(dir, 'no-migrations')
    await mkdir(none)
    const store = await openPgliteStore({ dataDir, migrationsDir: none })
    await store.db.exec("insert into supabase_migrations.schema_migrations (version, name) values ('29991231000000', 'from_a_newer_version')")
    await store.close()
    const { code, lines, output } = await failedStart({ AUDIT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' })
    expect(code).toBe(1)
    expect(lines).toEqual([
      expect.objectContaining({ level: 60, code: 'SCHEMA_AHEAD', msg: expect.stringMatching(/^failed to start: the database schema is ahead of this code: it has migration\(s\) 29991231000000, newer than/) }),
    ])
    expect(output).not.toMatch(/^\s+at /m)
  }, 120_000)

  it('a port in use', async () => {
    const port = await freePort()
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve))
    try {
      const { code, lines, output } = await failedStart({ AUDIT_DATA_DIR: path.join(dir, 'port'), PORT: String(port), LOG_LEVEL: 'warn' })
      expect(code).toBe(1)
      expect(lines).toEqual([expect.objectContaining({ level: 60, code: 'EADDRINUSE', msg: `cannot listen on 127.0.0.1:${port}: the port is in use (stop what uses it, or set PORT)` })])
      expect(output).not.toMatch(/^\s+at /m)
      expect(output).not.toContain('Audit events page')
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  }, 240_000)

  it('a data directory it cannot make', async () => {
    const file = path.join(dir, 'a-file')
    await writeFile(file, 'not a directory')
    const dataDir = path.join(file, 'data')
    const { code, lines, output } = await failedStart({ AUDIT_DATA_DIR: dataDir, PORT: '0' })
    expect(code).toBe(1)
    expect(lines).toEqual([expect.objectContaining({ level: 60, code: 'ENOTDIR', msg: expect.stringMatching(/^failed to start: ENOTDIR: not a directory, /) })])
    expect(lines[0]?.msg).toContain(`'${dataDir}`)
    expect(output).not.toMatch(/^\s+at /m)
  }, 120_000)
})
