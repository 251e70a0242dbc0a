import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** The README's start command (the install has already run in the test command). */
export const START = ['npx', '-y', 'pnpm@10.34.9', 'start']
/** The README's production command: plain node on the built server, nothing between it and its supervisor. */
export const PRODUCTION = [process.execPath, 'apps/api/dist/server.js']

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

let built = false
/**
 * Both commands run the built server (apps/api/dist, on @audit/core's dist),
 * which the install builds; this brings both up to date with the sources
 * first, with their own build scripts (incremental: a no-op when nothing
 * changed), so a test never runs yesterday's code.
 */
export function ensureBuilt(): void {
  if (built) return
  const r = spawnSync('npx', ['-y', 'pnpm@10.34.9', '--filter', '@audit/api...', 'build'], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`building the server failed:\n${r.stdout}${r.stderr}`)
  built = true
}

export interface ServerProcess {
  child: ChildProcess
  /** The process started: the wrapper (npx) for START, the server itself for PRODUCTION. */
  pid: number
  output: () => string
  /** How the started process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves when every process of the group has closed its output (the server included, whatever its wrappers did). */
  closed: Promise<void>
  /** Sends `signal` to the whole process group, as a supervisor or a terminal's Ctrl-C does. */
  signal(signal: NodeJS.Signals): void
}

/** Starts the service in its own process group with `command` (START or PRODUCTION). */
export function spawnServer(env: Record<string, string>, command: readonly string[] = START): ServerProcess {
  ensureBuilt()
  const child: ChildProcess = spawn(command[0] as string, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  return {
    child,
    pid: child.pid as number,
    output: () => out,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    closed: new Promise<void>((resolve) => child.stdout?.on('close', () => resolve())),
    signal(signal) {
      try {
        process.kill(-(child.pid as number), signal)
      } catch {
        /* already gone */
      }
    },
  }
}

export interface RunningServer extends ServerProcess {
  url: string
  token: string
  /** Sends `signal` (SIGTERM) to the whole process group; resolves when every process in it has closed its output. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/**
 * The page's URL and key from the server's output: the JSON line whose
 * message is `Audit events page: <url>[#token=<key>]` (printed whatever
 * LOG_LEVEL says), or null while there is none.
 */
export function pageLine(output: string): { url: string; token: string } | null {
  const lines = output.split('\n')
  lines.pop() // what follows the last newline: a line still being written
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes('Audit events page')) continue
    const m = /^Audit events page: (http:\/\/[^#\s]+)(?:#token=(\S+))?$/.exec((JSON.parse(line) as { msg: string }).msg)
    if (m) return { url: m[1] as string, token: m[2] ?? '' }
  }
  return null
}

/** Starts the service as a person would (or with PRODUCTION), and waits for the line that prints the page's URL. */
export async function startServer(env: Record<string, string>, command: readonly string[] = START, timeoutMs = 120_000): Promise<RunningServer> {
  const proc = spawnServer(env, command)
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${proc.output()}`)), timeoutMs)
    const check = () => {
      const page = pageLine(proc.output())
      if (page) {
        clearTimeout(timer)
        resolve(page)
      }
    }
    proc.child.stdout?.on('data', check)
    void proc.exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code ?? signal}:\n${proc.output()}`))
    })
  })
  return {
    ...proc,
    ...ready,
    async stop(signal = 'SIGTERM') {
      proc.signal(signal)
      await proc.closed
    },
  }
}
