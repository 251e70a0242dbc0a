import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** The README's start command (the install has already run in the test command). */
export const START = ['-y', 'pnpm@10.34.9', 'start']

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

export interface RunningServer {
  url: string
  token: string
  output: () => string
  /** SIGTERM to the whole process group; resolves when every process in it has closed its output. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts the service as a person would, and waits for the line that prints the page's URL. */
export async function startServer(env: Record<string, string>, timeoutMs = 120_000): Promise<RunningServer> {
  const child: ChildProcess = spawn('npx', START, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const closed = new Promise<void>((resolve) => child.stdout?.on('close', () => resolve()))
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs)
    const check = () => {
      const m = /Audit events page: (http:\/\/\S+?)(?:#token=(\S+))?\s/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ url: m[1] as string, token: m[2] ?? '' })
      }
    }
    child.stdout?.on('data', check)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${out}`))
    })
  })
  child.removeAllListeners('exit')
  return {
    ...ready,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      try {
        process.kill(-(child.pid as number), signal)
      } catch {
        /* already gone */
      }
      await closed
    },
  }
}
