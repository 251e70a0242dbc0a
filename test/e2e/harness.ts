import { mkdtemp } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { serve } from '@hono/node-server'
import { chromium, type Browser } from 'playwright-core'
import { build } from 'vite'
import { createAuditLogger, type AuditStore } from '@audit/core'
import { openPgliteStore } from '@audit/core/pglite'
import { openPostgresStore } from '@audit/core/postgres'
import { createTestDatabase, migratedPgliteDump } from '@audit/core/testing'
import { createApp } from '../../apps/api/src/app.ts'
import { apiKey } from '../../apps/api/src/auth.ts'
import { ROOT } from '../server-process.ts'

export const ADMIN = 'e2e-admin-key-0123456789'
export const READ = 'e2e-read-key-0123456789'

/** Builds the page into a temporary directory (the working tree's dist is left alone). */
export async function buildWeb(): Promise<string> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'audit-web-'))
  await build({ root: path.join(ROOT, 'apps/web'), logLevel: 'error', build: { outDir, emptyOutDir: true, sourcemap: false } })
  return outDir
}

/**
 * Where the page's screenshots go: a temporary directory, or the directory
 * AUDIT_SCREENSHOTS names (relative to the repository), e.g.
 * `AUDIT_SCREENSHOTS=docs npx vitest run test/e2e` to refresh the README's.
 */
export async function screenshotDir(): Promise<string> {
  const dir = process.env.AUDIT_SCREENSHOTS
  return dir ? path.resolve(ROOT, dir) : mkdtemp(path.join(os.tmpdir(), 'audit-screenshots-'))
}

/**
 * The real app on a real socket, over a fresh PGlite store; with `server`,
 * over the postgres store on a fresh database of TEST_DATABASE_URL's server
 * when there is one (a large seed takes seconds there, a minute in PGlite).
 * `exec` runs SQL as the database's owner, for seeding.
 */
export async function startApp(webDist: string, opts: { countCap?: number; server?: boolean } = {}) {
  const db = opts.server && process.env.TEST_DATABASE_URL ? await createTestDatabase() : undefined
  // PGlite starts from the migrated dump the other test files share: no migrations to run per server
  const pglite = db ? undefined : await openPgliteStore({ dataDir: 'memory://', loadDataDir: await migratedPgliteDump() })
  const store: AuditStore = db ? await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions }) : (pglite as AuditStore)
  const audit = createAuditLogger({ store, log: { warn() {}, error() {} }, source: 'system' })
  const app = createApp({ store, audit, keys: [apiKey('admin', ADMIN, 'e2e-admin'), apiKey('read', READ, 'e2e-reader')], webDist, countCap: opts.countCap })
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise((r) => server.once('listening', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    url,
    store,
    audit,
    async exec(sql: string): Promise<void> {
      if (db) await db.exec(sql)
      else await pglite?.db.exec(sql)
    },
    async close() {
      await new Promise((r) => server.close(r))
      await audit.shutdown({ deadlineMs: 1000 })
      await store.close()
      await db?.drop()
    },
  }
}

/** Debian's Chromium, headless, with nothing that reaches the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
}
