/**
 * A throwaway PostgreSQL cluster for fault tests: its own data directory in a
 * temporary directory, its own free port on 127.0.0.1 and its own Unix
 * socket directory, so a test can stop, kill or freeze it without touching
 * the shared server on 5432.
 *
 * The binaries come from the directory `pg_config --bindir` prints. As root
 * (CI) they run through `runuser -u postgres --`, since Postgres refuses to
 * run as root; the temporary directory is then chowned to postgres.
 */
import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { freePort } from '../server-process.ts'

interface Runner {
  bindir: string
  /** The postgres user's uid and gid when running as root, else undefined. */
  owner: { uid: number; gid: number } | undefined
}

let runnerCache: Runner | string | undefined

/** How the binaries are run here, or why they cannot be. Checked once. */
function runner(): Runner | string {
  if (runnerCache !== undefined) return runnerCache
  runnerCache = findRunner()
  return runnerCache
}

function findRunner(): Runner | string {
  if (process.platform !== 'linux') return `the chaos cluster needs Linux (/proc), this is ${process.platform}`
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' })
  if (cfg.error || cfg.status !== 0) return 'pg_config is not on PATH (no PostgreSQL server binaries on this machine)'
  const bindir = cfg.stdout.trim()
  for (const bin of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(path.join(bindir, bin))) return `${bin} is missing from ${bindir} (pg_config --bindir)`
  }
  if (process.getuid?.() !== 0) return { bindir, owner: undefined }
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0) return 'running as root and there is no postgres user to run the server as'
  if (spawnSync('runuser', ['--help']).error) return 'running as root and runuser is not on PATH'
  return { bindir, owner: { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } }
}

/**
 * Why a cluster cannot be started on this machine (no `pg_config`, not
 * Linux, root without a postgres user), or undefined when it can. Suites
 * that need one skip with this reason printed, never silently.
 *
 * @example
 * const reason = clusterUnavailable()
 * if (reason) console.warn(`chaos: cluster scenarios skipped: ${reason}`)
 * describe.skipIf(reason !== undefined)('outages', () => { … })
 */
export function clusterUnavailable(): string | undefined {
  const r = runner()
  return typeof r === 'string' ? r : undefined
}

export interface ClusterOptions {
  /** Extra `postgresql.conf` lines, e.g. `["max_connections = 40"]`. */
  settings?: string[]
  /** Printed on stderr as the cluster starts and stops (default off). */
  verbose?: boolean
}

export type StopMode = 'smart' | 'fast' | 'immediate'

/** One cluster; see {@link startCluster}. */
export interface ChaosCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string
  readonly port: number
  /** The temporary directory: data in `data/`, the server log in `postgres.log`, the socket here too. */
  readonly dir: string
  /** Starts (or starts again) the server and waits until it accepts connections. */
  start(): Promise<void>
  /** `pg_ctl stop -m <mode>` (default fast). */
  stop(opts?: { mode?: StopMode }): Promise<void>
  /** Stops (fast) and starts. */
  restart(): Promise<void>
  /** SIGKILL to the postmaster (a crash); waits until its backends have gone too. Call start() to recover. */
  kill(): Promise<void>
  /** SIGSTOP to the postmaster and every backend: a hung database (connections open but nothing answers). */
  pause(): void
  /** SIGCONT to everything pause() stopped. */
  resume(): void
  readonly paused: boolean
  /** The postmaster's pid, or undefined when it is not running. */
  postmasterPid(): number | undefined
  /**
   * `pg_terminate_backend` on every backend that matches a condition on
   * `pg_stat_activity` (never the admin connection itself); how many it hit.
   *
   * @example
   * await cluster.terminateBackends(`application_name = 'audit-events' and query ilike 'copy%'`)
   */
  terminateBackends(where: string): Promise<number>
  /** A query on the admin connection (database `postgres`, or `database`). Hangs while paused. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[], database?: string): Promise<T[]>
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** The URL of a database on this cluster. */
  urlOf(database: string): string
  /** The end of the server log, for a failure message. */
  logTail(lines?: number): string
  /** Resumes if paused, stops (immediate), and removes the directory. Safe to call twice. */
  destroy(): Promise<void>
}

const live = new Set<{ destroySync(): void }>()
let exitHookInstalled = false

/** Last resort when a test process ends without its afterAll: no cluster outlives the process that started it. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of live) c.destroySync()
  })
}

/**
 * Creates and starts a cluster: `initdb` into a new temporary directory,
 * a free port on 127.0.0.1, the socket inside the directory, `fsync=off`.
 * Throws when {@link clusterUnavailable} gives a reason.
 *
 * @example
 * const cluster = await startCluster()
 * try { await cluster.stop(); await cluster.start() } finally { await cluster.destroy() }
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<ChaosCluster> {
  const r = runner()
  if (typeof r === 'string') throw new Error(`cannot start a Postgres cluster: ${r}`)
  installExitHook()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'audit-chaos-pg-'))
  const data = path.join(dir, 'data')
  const logFile = path.join(dir, 'postgres.log')
  if (r.owner) chownSync(dir, r.owner.uid, r.owner.gid)
  const port = await freePort()
  const say = (msg: string) => opts.verbose && process.stderr.write(`[chaos cluster :${port}] ${msg}\n`)

  const cmd = (bin: string, args: string[]): [string, string[]] =>
    r.owner ? ['runuser', ['-u', 'postgres', '--', path.join(r.bindir, bin), ...args]] : [path.join(r.bindir, bin), args]
  const run = (bin: string, args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const [file, argv] = cmd(bin, args)
      // Not in our process group: a signal meant for a server under test never reaches the database.
      const child = spawn(file, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (out += d.toString()))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} exited with ${code}:\n${out}`))))
    })
  const runSync = (bin: string, args: string[]) => {
    const [file, argv] = cmd(bin, args)
    return spawnSync(file, argv, { cwd: dir, stdio: 'ignore', timeout: 30_000 })
  }

  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
  appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      '',
      '# chaos cluster',
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'full_page_writes = off',
      // synchronous_commit stays on: a crash of the server must not lose what it said was committed
      'max_connections = 60',
      'shared_buffers = 32MB',
      "log_line_prefix = '%m [%p] %a '",
      ...(opts.settings ?? []),
      '',
    ].join('\n'),
  )

  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`
  const admins = new Map<string, postgres.Sql>()
  const admin = (database = 'postgres') => {
    let sql = admins.get(database)
    if (!sql) {
      sql = postgres(url(database), {
        max: 1,
        onnotice: () => {},
        idle_timeout: 2,
        connect_timeout: 10,
        connection: { application_name: 'chaos-admin' },
      })
      admins.set(database, sql)
    }
    return sql
  }
  const closeAdmins = async () => {
    const all = [...admins.values()]
    admins.clear()
    await Promise.all(all.map((s) => s.end({ timeout: 1 }).catch(() => {})))
  }

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      return pid > 0 && alive(pid) ? pid : undefined
    } catch {
      return undefined
    }
  }

  let stopped: number[] = []
  let destroyed = false
  const resume = () => {
    // Backends first, so none wakes up to a postmaster that is still frozen.
    for (const pid of [...stopped].reverse()) signal(pid, 'SIGCONT')
    stopped = []
  }
  const forceKill = () => {
    const pm = postmasterPid()
    if (pm === undefined) return
    const all = [pm, ...childrenOf(pm)]
    for (const pid of all) signal(pid, 'SIGCONT')
    for (const pid of all) signal(pid, 'SIGKILL')
  }

  const handle = {
    destroySync() {
      if (destroyed) return
      destroyed = true
      resume()
      if (postmasterPid() !== undefined && runSync('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).status !== 0) forceKill()
      rmSync(dir, { recursive: true, force: true })
      live.delete(handle)
    },
  }
  live.add(handle)

  const cluster: ChaosCluster = {
    url: url('postgres'),
    port,
    dir,
    get paused() {
      return stopped.length > 0
    },
    postmasterPid,
    async start() {
      resume()
      try {
        await run('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60'])
      } catch (err) {
        throw new Error(`${(err as Error).message}\nserver log:\n${cluster.logTail(15)}`, { cause: err })
      }
      say('started')
    },
    async stop({ mode = 'fast' } = {}) {
      resume()
      await closeAdmins()
      await run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60'])
      say(`stopped (${mode})`)
    },
    async restart() {
      await cluster.stop({ mode: 'fast' })
      await cluster.start()
    },
    async kill() {
      resume()
      const pm = postmasterPid()
      if (pm === undefined) return
      const backends = childrenOf(pm)
      await closeAdmins()
      signal(pm, 'SIGKILL')
      // Backends notice the postmaster's death and exit at once; any that
      // linger would keep the shared memory and block the next start.
      const deadline = Date.now() + 5000
      while ([pm, ...backends].some(alive) && Date.now() < deadline) await sleep(20)
      for (const pid of backends) if (alive(pid)) signal(pid, 'SIGKILL')
      while ([pm, ...backends].some(alive)) await sleep(20)
      // A postmaster nobody reaps stays a zombie that kill(pid, 0) still
      // finds, and the next start would take its lock files for a live server.
      rmSync(path.join(data, 'postmaster.pid'), { force: true })
      rmSync(path.join(dir, `.s.PGSQL.${port}.lock`), { force: true })
      say('killed')
    },
    pause() {
      const pm = postmasterPid()
      if (pm === undefined) throw new Error('pause(): the cluster is not running')
      // The postmaster first, so it forks no backend we would miss.
      signal(pm, 'SIGSTOP')
      stopped = [pm, ...childrenOf(pm)]
      for (const pid of stopped.slice(1)) signal(pid, 'SIGSTOP')
      say(`paused ${stopped.length} processes`)
    },
    resume() {
      resume()
      say('resumed')
    },
    async terminateBackends(where) {
      const rows = await admin().unsafe<{ hit: boolean }[]>(
        `select pg_terminate_backend(pid) as hit from pg_stat_activity
         where pid <> pg_backend_pid() and backend_type = 'client backend' and (${where})`,
      )
      return rows.filter((r) => r.hit).length
    },
    async query(text, params = [], database) {
      return await admin(database).unsafe<never>(text, params as never[])
    },
    async createDatabase(name) {
      await admin().unsafe(`create database "${name.replace(/"/g, '""')}"`)
      return url(name)
    },
    urlOf: url,
    logTail(lines = 40) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n')
      } catch {
        return '(no server log)'
      }
    },
    async destroy() {
      if (destroyed) return
      resume()
      await closeAdmins()
      if (postmasterPid() !== undefined) {
        await run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30']).catch(() => forceKill())
      }
      handle.destroySync()
      say('destroyed')
    },
  }
  try {
    await cluster.start()
  } catch (err) {
    await cluster.destroy()
    throw err
  }
  return cluster
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone already */
  }
}

/** The state letter of /proc/<pid>/stat, or undefined when there is no such process. */
function procState(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name is in parentheses and may contain spaces
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: rest[0] as string, ppid: Number(rest[1]) }
  } catch {
    return undefined
  }
}

/** Running, sleeping or stopped; a zombie counts as gone. */
function alive(pid: number): boolean {
  const s = procState(pid)
  return s !== undefined && s.state !== 'Z' && s.state !== 'X'
}

/** The live children of a process (a postmaster's backends and workers). */
function childrenOf(parent: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    const s = procState(pid)
    if (s?.ppid === parent && s.state !== 'Z') out.push(pid)
  }
  return out
}
