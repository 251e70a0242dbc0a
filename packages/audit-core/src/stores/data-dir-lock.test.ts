import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DataDirLockedError, LOCK_FILE_NAME, breakStale, lockDataDir } from './data-dir-lock.ts'

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(r.stdout.toString())
}

/** The state letter of /proc/<pid>/stat (R, S, Z…), or undefined once the process is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2]
  } catch {
    return undefined
  }
}

async function until<T>(get: () => T | undefined, withinMs = 10_000): Promise<T> {
  const end = Date.now() + withinMs
  for (;;) {
    const v = get()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function writeLock(dir: string, holder: Record<string, unknown>): string {
  const file = path.join(dir, LOCK_FILE_NAME)
  writeFileSync(file, JSON.stringify({ hostname: os.hostname(), since: '2020-01-01T00:00:00.000Z', token: 'old', ...holder }))
  return file
}

describe('data directory lock', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'audit-lock-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('holds the directory until released, with its pid in a 0600 file', async () => {
    const lock = await lockDataDir(dir)
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, hostname: os.hostname() })
    expect(statSync(lock.file).mode & 0o777).toBe(0o600)
    await expect(lockDataDir(dir)).rejects.toThrow(`data directory ${dir} is in use by this process`)
    lock.release()
    expect(existsSync(lock.file)).toBe(false)
    ;(await lockDataDir(dir)).release()
  })

  it('takes over a lock whose process is gone', async () => {
    writeLock(dir, { pid: deadPid() })
    const lock = await lockDataDir(dir)
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid)
    lock.release()
  })

  it('takes over a lock whose process was killed but not yet reaped (a zombie holds nothing)', async () => {
    // `exec sleep` becomes the parent of the holder and never waits for it, so the
    // killed holder stays a zombie (as it does for a while under a slow init in a container).
    const file = path.join(dir, LOCK_FILE_NAME)
    const holder = `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify({ pid: process.pid, hostname: require('os').hostname(), since: new Date().toISOString(), token: 'killed' })); process.kill(process.pid, 'SIGKILL')`
    const parent = spawn('sh', ['-c', `"${process.execPath}" -e "$HOLDER" & exec sleep 60`], { env: { ...process.env, HOLDER: holder }, stdio: 'ignore' })
    try {
      const pid = await until(() => {
        const h = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }) : undefined
        return h && processState(h.pid) === 'Z' ? h.pid : undefined
      })
      const lock = await lockDataDir(dir)
      expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid)
      expect(processState(pid)).toBe('Z')
      lock.release()
    } finally {
      parent.kill('SIGKILL')
    }
  })

  it('takes over a lock left by an earlier process that had our pid (a restarted container)', async () => {
    writeLock(dir, { pid: process.pid, token: 'earlier-run' })
    const lock = await lockDataDir(dir)
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).token).not.toBe('earlier-run')
    lock.release()
  })

  it('takes over a lock file that was never written, once it is old', async () => {
    const file = path.join(dir, LOCK_FILE_NAME)
    writeFileSync(file, '')
    const old = new Date(Date.now() - 60_000)
    utimesSync(file, old, old)
    const lock = await lockDataDir(dir)
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid)
    lock.release()
  })

  it('refuses, naming the holder, while that process runs', async () => {
    const file = writeLock(dir, { pid: process.ppid })
    const err = await lockDataDir(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataDirLockedError)
    expect((err as Error).message).toBe(
      `data directory ${dir} is in use by process ${process.ppid} (since 2020-01-01T00:00:00.000Z; lock file ${file}). Stop that process first, or set AUDIT_DATA_DIR to another directory.`,
    )
    expect(existsSync(file)).toBe(true)
  })

  it('never takes over a lock from another host (its pid means nothing here)', async () => {
    const file = writeLock(dir, { pid: deadPid(), hostname: 'elsewhere' })
    await expect(lockDataDir(dir)).rejects.toThrow(`on host elsewhere`)
    await expect(lockDataDir(dir)).rejects.toThrow(`if it no longer runs, delete ${file}`)
  })

  it('a process that found the same stale lock later does not remove the fresh one', async () => {
    // Two processes read the same stale lock; the first takes the directory,
    // then the second goes on to remove what it believes is still stale.
    writeLock(dir, { pid: deadPid() })
    const stale = JSON.parse(readFileSync(path.join(dir, LOCK_FILE_NAME), 'utf8'))
    const first = await lockDataDir(dir)
    await breakStale(first.file, stale)
    expect(JSON.parse(readFileSync(first.file, 'utf8')).pid).toBe(process.pid)
    await expect(lockDataDir(dir)).rejects.toThrow(DataDirLockedError)
    first.release()
  })
})
