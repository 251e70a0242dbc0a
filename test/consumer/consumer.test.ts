/**
 * @audit/core as a user gets it: `pnpm pack`, installed from the tarball
 * with npm into a project outside the workspace, its consumer code
 * type-checked (strict, NodeNext and Bundler resolution) and run with plain
 * `node`: one tiny app per framework records events with the library's
 * middleware, `auditOperation` and `logEvent` into PGlite and into Postgres,
 * and reads them back through the store.
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '@audit/core'
import { createTestDatabase, describeEngine, type TestDatabase } from '@audit/core/testing'
import { ROOT } from '../server-process.ts'
import { CORE, packCore, type Packed } from '../package/pack.ts'

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url))
/** One app per framework: fixtures/src/<framework>-app.ts. */
const FRAMEWORKS = readdirSync(path.join(FIXTURES, 'src')).flatMap((f) => /^(.+)-app\.ts$/.exec(f)?.[1] ?? [])
/** One tsc or one app run; minutes only on a machine busy with other work. */
const STEP_TIMEOUT = 180_000

/**
 * What the consumer installs beside the tarball, each at the version the
 * workspace pins: the drivers of the two stores it uses (optional peers of
 * the library; the Postgres store writes with COPY by default, hence
 * pg-copy-streams), and each framework.
 */
const CONSUMER_DEPENDENCIES = [
  'typescript',
  '@types/node',
  'pg',
  '@types/pg',
  'pg-copy-streams',
  '@electric-sql/pglite',
  'hono',
  '@hono/node-server',
  'express',
  '@types/express',
  'fastify',
]

interface Result {
  responses: { path: string; status: number; requestId: string | null; body: string }[]
  events: AuditEvent[]
  total: number
  byId: (AuditEvent | null)[]
}

/**
 * The environment of a user's shell: without the npm_config_* settings that
 * `pnpm test` passes to its children, which npm would warn about.
 */
const USER_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm|pnpm)_/i.test(k)))

/** Runs a command to its end; never throws, the caller asserts on the outcome. */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...USER_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let output = ''
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', (err) => resolve({ code: null, stdout, output: `${output}${err.message}` }))
    child.on('close', (code) => resolve({ code, stdout, output }))
  })
}

/** Runs a command that must succeed. */
async function mustRun(what: string, command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<{ stdout: string; output: string }> {
  const r = await run(command, args, options)
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${command} ${args.join(' ')}\n${r.output}`)
  return r
}

/** The version of `name` the workspace pins (the library's manifest first, then the root's). */
async function workspaceVersions(names: string[]): Promise<Record<string, string>> {
  const manifests = await Promise.all([CORE, ROOT].map(async (dir) => JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'))))
  return Object.fromEntries(
    names.map((name) => {
      const version = manifests.map((m) => m.dependencies?.[name] ?? m.devDependencies?.[name]).find(Boolean)
      if (!version) throw new Error(`the workspace pins no version of ${name}`)
      return [name, version]
    }),
  )
}

let packed: Packed
let project: string
let tmp: string
let nodeNextCheck: { code: number | null; output: string }
const timings: Record<string, number> = {}

async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    timings[step] = Math.round(performance.now() - t0)
  }
}

beforeAll(async () => {
  packed = await timed('build and pack', async () => packCore())
  tmp = await mkdtemp(path.join(os.tmpdir(), 'audit-consumer-'))
  project = path.join(tmp, 'app')
  await cp(FIXTURES, project, { recursive: true })
  const dependencies = { '@audit/core': `file:${packed.tarball}`, ...(await workspaceVersions(CONSUMER_DEPENDENCIES)) }
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'audit-consumer', private: true, type: 'module', dependencies }, null, 2))
  await timed('install', () => mustRun('npm install', 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project }))
  // Emits out/ even when there are type errors, so that the apps still run and the type test reports them.
  nodeNextCheck = await timed('tsc NodeNext', () => run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.nodenext.json'], { cwd: project }))
}, 600_000)

afterAll(async () => {
  console.log(`consumer test: ${Object.entries(timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ')}; Postgres on ${describeEngine()}`)
  packed?.remove()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('consumer install', () => {
  it('brings none of the optional peers (store drivers, test tools) the consumer did not ask for', async () => {
    const installed = JSON.parse((await mustRun('npm ls', 'npm', ['ls', '--all', '--json'], { cwd: project })).stdout)
    const names = new Set<string>()
    type Tree = Record<string, { version?: string; missing?: boolean; dependencies?: Tree }>
    // an optional peer that is not installed is listed too, without a version
    const walk = (deps: Tree = {}) => {
      for (const [name, dep] of Object.entries(deps)) {
        if (dep.version && !dep.missing) names.add(name)
        walk(dep.dependencies)
      }
    }
    walk(installed.dependencies)
    expect(names).toContain('@audit/core')
    const core = JSON.parse(await readFile(path.join(project, 'node_modules/@audit/core/package.json'), 'utf8'))
    const unasked = Object.keys(core.peerDependencies).filter((n) => !CONSUMER_DEPENDENCIES.includes(n))
    expect(unasked).toContain('@supabase/supabase-js')
    expect(unasked.filter((n) => names.has(n))).toEqual([])
  })
})

describe('consumer type-check (strict)', () => {
  it('compiles under module/moduleResolution NodeNext', () => {
    expect(nodeNextCheck.output).toBe('')
    expect(nodeNextCheck.code).toBe(0)
  })

  it('compiles under module ESNext, moduleResolution Bundler', async () => {
    const r = await timed('tsc Bundler', () => run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bundler.json'], { cwd: project }))
    expect(r.output).toBe('')
    expect(r.code).toBe(0)
  }, STEP_TIMEOUT)
})

/** Runs one framework's app against a store and returns what it saw. */
async function runApp(framework: string, env: Record<string, string>): Promise<Result> {
  const result = path.join(tmp, `${framework}-${env.CONSUMER_STORE}.json`)
  const { output } = await timed(`${framework} on ${env.CONSUMER_STORE}`, () =>
    mustRun(`the ${framework} app`, process.execPath, ['out/run.js', framework], { cwd: project, env: { ...env, CONSUMER_RESULT: result } }),
  )
  // nothing warns about a store that is not in use (supabase-js on Node 20 did)
  expect(output).not.toMatch(/deprecat/i)
  return JSON.parse(await readFile(result, 'utf8'))
}

function expectRecorded(framework: string, r: Result): void {
  const [ok, fail, login] = r.responses
  expect(r.responses.map((x) => [x.path, x.status])).toEqual([
    ['/downloads/AAPL', 200],
    ['/downloads/FAIL', 500],
    ['/login', 200],
  ])
  expect(JSON.parse(ok!.body)).toEqual({ downloaded: 3 })
  // the request id the client sent is echoed; one it did not send is made up and still returned
  expect(ok!.requestId).toBe(`${framework}-ok`)
  expect(fail!.requestId).toBe(`${framework}-fail`)
  expect(login!.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)

  expect(r.total).toBe(3)
  const byRequest = new Map(r.events.map((e) => [e.request_id, e]))
  const common = { source: `consumer-${framework}`, ip_address: '127.0.0.1', user_agent: 'consumer-test/1' }
  expect(byRequest.get(`${framework}-ok`)).toMatchObject({
    ...common,
    operation_type: 'stock_price_download',
    result: 'success',
    severity: 'info',
    operator: 'ana@example.com',
    resource_type: 'symbol',
    resource_id: 'AAPL',
    extra_info: { symbol: 'AAPL', records_count: 3, duration_ms: expect.any(Number) },
  })
  expect(byRequest.get(`${framework}-fail`)).toMatchObject({
    ...common,
    operation_type: 'stock_price_download',
    result: 'failure',
    severity: 'error',
    operator: 'ana@example.com',
    resource_id: 'FAIL',
    message: 'upstream refused FAIL',
    extra_info: { symbol: 'FAIL', duration_ms: expect.any(Number), error: { name: 'Error', message: 'upstream refused FAIL' } },
  })
  expect(byRequest.get(login!.requestId)).toMatchObject({
    ...common,
    operation_type: 'user_login',
    result: 'success',
    operator: 'bob@example.com',
    message: 'signed in',
  })
  // getEvent reads each one back the same
  expect(r.byId).toEqual(r.events)
}

describe('consumer apps on PGlite (embedded, a temporary data dir)', () => {
  // one data dir for all the apps, one after the other (each app's events carry its own source):
  // creating a database is most of a PGlite run's time
  let dataDir: string
  beforeAll(async () => {
    dataDir = path.join(tmp, 'pglite')
    await mkdir(dataDir)
  })

  for (const framework of FRAMEWORKS) {
    it(`${framework}: records and reads back`, async () => {
      expectRecorded(framework, await runApp(framework, { CONSUMER_STORE: 'pglite', CONSUMER_DATA_DIR: dataDir }))
    }, STEP_TIMEOUT)
  }
})

describe(`consumer apps on the Postgres store (${describeEngine()})`, () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => {
    await db?.drop()
  })

  for (const framework of FRAMEWORKS) {
    it(`${framework}: records and reads back`, async () => {
      const env = { CONSUMER_STORE: 'postgres', CONSUMER_DATABASE_URL: db.url, CONSUMER_STORE_OPTIONS: JSON.stringify(db.storeOptions) }
      expectRecorded(framework, await runApp(framework, env))
    }, STEP_TIMEOUT)
  }
})
