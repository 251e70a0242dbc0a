/**
 * @audit/core as it would be published: publint and
 * @arethetypeswrong/cli (ESM-only profile) find nothing, and the tarball
 * holds the built entries, the audit-events command, the migrations and the licence, and no sources,
 * tests or build state.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../server-process.ts'
import { listFiles, packCore, type Packed } from './pack.ts'

let packed: Packed
beforeAll(() => {
  packed = packCore()
})
afterAll(() => packed?.remove())

describe('@audit/core tarball', () => {
  it('publint: no errors, warnings or suggestions', async () => {
    const data = readFileSync(packed.tarball)
    const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
    const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion', strict: true })
    expect(messages.map((m) => `${m.type} ${m.code}: ${formatMessage(m, pkg)}`)).toEqual([])
  })

  it('are the types wrong: none, for ESM consumers (node16 from ESM, bundler)', () => {
    const attw = path.join(ROOT, 'node_modules/.bin/attw')
    const r = spawnSync(attw, [packed.tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-emoji'], { encoding: 'utf8' })
    expect(r.status, r.stdout + r.stderr).toBe(0)
  })

  it('holds dist (no sources, tests or build state), the command, the licence and the migrations, byte for byte those of supabase/migrations', () => {
    const files = listFiles(packed.dir)
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'LICENSE', 'bin/audit-events.js'].includes(f))).toEqual([])
    expect(files.filter((f) => /\.test\.|\.tsbuildinfo$|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([])
    expect(readFileSync(path.join(packed.dir, 'LICENSE'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'))
    const source = path.join(ROOT, 'supabase/migrations')
    const sql = listFiles(source).filter((f) => f.endsWith('.sql'))
    expect(sql.length).toBeGreaterThan(0)
    expect(files.filter((f) => f.startsWith('dist/migrations/'))).toEqual(sql.map((f) => `dist/migrations/${f}`))
    for (const f of sql) expect(readFileSync(path.join(packed.dir, 'dist/migrations', f), 'utf8'), f).toBe(readFileSync(path.join(source, f), 'utf8'))
  })
})
