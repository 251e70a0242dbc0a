/**
 * @audit/core installed outside the repository from its tarball, with its
 * dependencies but none of its optional peers: every entry imports, a store
 * whose driver is missing says which package to install, and with
 * @electric-sql/pglite added, openStore applies the migrations the package
 * ships and records an event. The audit-events command runs with npx. And
 * the library prints nothing when imported.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../server-process.ts'
import { CORE, packCore, type Packed } from './pack.ts'

const ENTRIES = ['@audit/core', '@audit/core/postgres', '@audit/core/pglite', '@audit/core/supabase', '@audit/core/hono', '@audit/core/express', '@audit/core/fastify', '@audit/core/schema']

let packed: Packed
let app: string
beforeAll(() => {
  packed = packCore()
  // node_modules as an install makes it: the package, and its dependencies (taken from the workspace's install)
  app = mkdtempSync(path.join(os.tmpdir(), 'audit-core-app-'))
  mkdirSync(path.join(app, 'node_modules/@audit'), { recursive: true })
  renameSync(packed.dir, path.join(app, 'node_modules/@audit/core'))
  const pkg = JSON.parse(readFileSync(path.join(CORE, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  for (const dep of Object.keys(pkg.dependencies)) link(dep)
})
afterAll(() => {
  packed?.remove()
  if (app) rmSync(app, { recursive: true, force: true })
})

function link(dep: string): void {
  const at = path.join(app, 'node_modules', dep)
  mkdirSync(path.dirname(at), { recursive: true })
  symlinkSync(realpathSync(path.join(CORE, 'node_modules', dep)), at, 'dir')
}

/** Runs an ES module script with plain node in `cwd`. */
function node(code: string, cwd = app) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('@audit/core installed from its tarball, without optional peers', () => {
  it('imports every entry: none loads a driver or a framework', () => {
    const r = node(`for (const e of ${JSON.stringify(ENTRIES)}) await import(e); console.log('ok')`)
    expect(r).toEqual({ status: 0, stdout: 'ok\n', stderr: '' })
  })

  it('openStore names the package to install for the store it was asked for', () => {
    const r = node(`
      import { loadConfig, openStore } from '@audit/core'
      for (const env of [
        { AUDIT_STORE: 'postgres', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
        { AUDIT_STORE: 'pglite', AUDIT_DATA_DIR: 'memory://' },
        { AUDIT_STORE: 'supabase', SUPABASE_URL: 'http://127.0.0.1:1', SUPABASE_SERVICE_ROLE_KEY: 'k' },
      ]) await openStore(loadConfig(env)).then(() => console.log('opened'), (e) => console.log(e.name + ': ' + e.message))`)
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toEqual([
      'MissingDriverError: install pg to use the Postgres store (npm install pg)',
      'MissingDriverError: install @electric-sql/pglite to use the PGlite store (npm install @electric-sql/pglite)',
      'MissingDriverError: install @supabase/supabase-js to use the Supabase store (npm install @supabase/supabase-js)',
    ])
  })

  it('with @electric-sql/pglite installed, openStore migrates from the shipped SQL and auditOperation records', () => {
    link('@electric-sql/pglite')
    const r = node(`
      import { createAuditLogger, loadConfig, openStore } from '@audit/core'
      const config = loadConfig({ AUDIT_STORE: 'pglite', AUDIT_DATA_DIR: 'memory://' })
      const store = await openStore(config)
      const audit = createAuditLogger({ store, ...config })
      await audit.auditOperation({ operationType: 'stock_price_download', operator: 'ana@example.com' }, async () => 42)
      await audit.shutdown()
      const { events } = await store.queryEvents({ filters: {}, limit: 10 })
      console.log(JSON.stringify(events.map((e) => [e.operation_type, e.result, e.operator])))
      await store.close()`)
    expect(r).toMatchObject({ status: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toEqual([['stock_price_download', 'success', 'ana@example.com']])
  })
})

describe('the audit-events command from the tarball', () => {
  it('runs with npx: verify --help, and verify of an empty export', () => {
    // the bin link an install makes from the shipped package.json's "bin"
    const core = path.join(app, 'node_modules/@audit/core')
    const { bin } = JSON.parse(readFileSync(path.join(core, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    expect(Object.keys(bin)).toEqual(['audit-events'])
    mkdirSync(path.join(app, 'node_modules/.bin'), { recursive: true })
    symlinkSync(path.join('..', '@audit/core', bin['audit-events']!), path.join(app, 'node_modules/.bin/audit-events'))
    chmodSync(path.join(core, bin['audit-events']!), 0o755)
    const npx = (...args: string[]) => spawnSync('npx', ['--no-install', 'audit-events', ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    const help = npx('verify', '--help')
    expect(help.stdout).toMatch(/^Usage:\n {2}audit-events verify --database-url/)
    expect(help.status).toBe(0)
    writeFileSync(path.join(app, 'events.ndjson'), '')
    writeFileSync(path.join(app, 'checkpoints.ndjson'), '')
    const empty = npx('verify', '--file', 'events.ndjson', '--checkpoints', 'checkpoints.ndjson')
    expect([empty.status, empty.stdout]).toEqual([0, expect.stringMatching(/^INTACT: 0 events/)])
  })
})

describe('importing @audit/core', () => {
  it(`prints nothing (no driver's warning, e.g. supabase-js's on Node 20) on ${process.version}, with every driver installed beside it`, () => {
    // the repository's install: @audit/core's built dist, every driver resolvable from it
    const r = node(`for (const e of ${JSON.stringify(ENTRIES)}) await import(e)`, ROOT)
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' })
  })
})
