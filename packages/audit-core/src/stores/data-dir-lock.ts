import { randomUUID } from 'node:crypto'
import { closeSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** What a lock file says about the process that holds the directory. */
export interface LockHolder {
  pid: number
  hostname: string
  /** When it took the lock (ISO 8601). */
  since: string
  /** Unique to one acquisition, so that a lock is never mistaken for another with the same pid. */
  token: string
}

/** A data directory held by this process until `release()` (or the process's exit). */
export interface DataDirLock {
  readonly file: string
  release(): void
}

/** The data directory is held by another process; the message names the directory, the holder and what to do. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
  constructor(
    readonly dir: string,
    readonly file: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.hostname === os.hostname() ? (holder.pid === process.pid ? 'this process' : `process ${holder.pid}`) : `process ${holder.pid} on host ${holder.hostname}`
    const remedy =
      holder.hostname === os.hostname()
        ? 'Stop that process first, or set AUDIT_DATA_DIR to another directory.'
        : `Stop that process first, or set AUDIT_DATA_DIR to another directory; if it no longer runs, delete ${file}.`
    super(`data directory ${dir} is in use by ${where} (since ${holder.since}; lock file ${file}). ${remedy}`)
  }
}

export const LOCK_FILE_NAME = 'pglite.lock'

/** Locks held by this process, by lock file path: released on exit, and told apart from a stale lock with a reused pid. */
const held = new Map<string, LockHolder>()
let exitHookInstalled = false

/**
 * Takes `<dir>/pglite.lock` for this process, or throws {@link DataDirLockedError}
 * naming the holder. The file is created with `wx` (exclusive) and holds the
 * pid, host and a token; a lock whose process is gone (same host, `kill(pid, 0)`
 * fails with ESRCH, or the process is a zombie waiting to be reaped, e.g.
 * after SIGKILL) is stale and taken over. Released by
 * `release()` and, failing that, when the process exits.
 *
 * @example
 * const lock = await lockDataDir('./.data')
 * try { await work() } finally { lock.release() }
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = path.join(realpathSync(dir), LOCK_FILE_NAME)
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), since: new Date().toISOString(), token: randomUUID() }
  for (let attempt = 0; attempt < 200; attempt++) {
    if (createExclusive(file, me)) {
      held.set(file, me)
      installExitHook()
      return { file, release: () => release(file, me) }
    }
    const holder = readHolder(file)
    if (holder === 'gone') continue
    if (holder === 'unreadable') {
      // Created but not yet written, or its writer died in between: stale once it is old.
      if (ageMs(file) < 2000) await sleep(10)
      else await breakStale(file, 'unreadable')
      continue
    }
    if (isAlive(file, holder)) throw new DataDirLockedError(dir, file, holder)
    await breakStale(file, holder)
  }
  throw new Error(`could not take the lock ${file}: it keeps changing hands`)
}

function createExclusive(file: string, holder: LockHolder): boolean {
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`)
  } finally {
    closeSync(fd)
  }
  return true
}

function readHolder(file: string): LockHolder | 'gone' | 'unreadable' {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    throw e
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>
    if (Number.isInteger(h.pid) && typeof h.hostname === 'string' && typeof h.token === 'string') return h as LockHolder
  } catch {
    /* a partial write */
  }
  return 'unreadable'
}

/**
 * Whether the holder may still run. A pid is only meaningful on its own host:
 * a lock from another host (or container) is never taken over.
 */
function isAlive(file: string, holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return true
  // Our own pid in a lock we did not take: a previous run of a process that had the same pid (a restarted container).
  if (holder.pid === process.pid) return held.get(file)?.token === holder.token
  try {
    process.kill(holder.pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'
  }
  return !isZombie(holder.pid)
}

/**
 * Whether a process has exited and only waits to be reaped (Linux: state Z or X
 * in /proc/<pid>/stat). Its files are closed, so it holds nothing, yet
 * `kill(pid, 0)` still finds it: killed with its parent, it waits for init,
 * which in a container may take seconds. Elsewhere: false.
 */
function isZombie(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return false
  }
  // "pid (comm) state …": comm may itself hold spaces or parentheses, so read after the last ')'.
  const state = stat[stat.lastIndexOf(')') + 2]
  return state === 'Z' || state === 'X'
}

/**
 * Removes a stale lock. Two processes may find the same stale lock at once:
 * the one that creates `<lock>.break` (exclusively) re-reads the lock and
 * removes it only if it is still the stale one, so a fresh lock taken in
 * between is never removed. Exported for its test.
 *
 * @internal
 */
export async function breakStale(file: string, stale: LockHolder | 'unreadable'): Promise<void> {
  const breaker = `${file}.break`
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), since: new Date().toISOString(), token: randomUUID() }
  if (!createExclusive(breaker, me)) {
    const other = readHolder(breaker)
    if (other === 'gone') return
    if (other === 'unreadable' ? ageMs(breaker) >= 2000 : !isAlive(breaker, other)) removeIfUnchanged(breaker, other)
    else await sleep(10)
    return
  }
  try {
    removeIfUnchanged(file, stale)
  } finally {
    unlinkQuiet(breaker)
  }
}

function removeIfUnchanged(file: string, seen: LockHolder | 'unreadable'): void {
  const now = readHolder(file)
  if (now === 'gone') return
  const unchanged = seen === 'unreadable' ? now === 'unreadable' && ageMs(file) >= 2000 : typeof now === 'object' && now.token === seen.token
  if (unchanged) unlinkQuiet(file)
}

function release(file: string, me: LockHolder): void {
  if (held.get(file)?.token !== me.token) return
  held.delete(file)
  const current = readHolder(file)
  if (typeof current === 'object' && current.token === me.token) unlinkQuiet(file)
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Synchronous by necessity: 'exit' handlers cannot wait.
  process.on('exit', () => {
    for (const [file, me] of [...held]) release(file, me)
  })
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs
  } catch {
    return 0
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}
