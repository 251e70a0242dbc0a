/**
 * The README's environment variables and the code's, from one source each:
 * every variable the server reads (the library's EnvSchema and the server's
 * loadServerConfig) has a row in the README's Configuration table, and every
 * variable the README names is read somewhere in this repository.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './server-process.ts'

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')
const readme = read('README.md')

/** The variables the server reads: the library's EnvSchema keys, and `env.X` / `process.env.X` in the server's sources. */
function serverVariables(): Set<string> {
  const out = new Set<string>()
  const schema = /const EnvSchema = z\.object\(\{([\s\S]*?)\n\}\)/.exec(read('packages/audit-core/src/config.ts'))?.[1] ?? ''
  for (const m of schema.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)) out.add(m[1] as string)
  for (const file of ['apps/api/src/config.ts', 'apps/api/src/server.ts']) {
    // code, not the comments' examples
    const code = read(file).replace(/^\s*(\/\/|\*).*$/gm, '')
    for (const m of code.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) out.add(m[1] as string)
  }
  return out
}

/** Every `NAME` in the README's Configuration table's first column (`A` / `B` and `A`, `B` name two). */
function tableVariables(): Set<string> {
  const section = readme.slice(readme.indexOf('\n## Configuration\n'))
  const out = new Set<string>()
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue
    const first = line.split('|')[1] ?? ''
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) out.add(m[1] as string)
  }
  return out
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(path.join(ROOT, dir))) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    const rel = path.join(dir, name)
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel))
    else if (/\.(ts|tsx|mjs|js)$/.test(name)) out.push(rel)
  }
  return out
}

describe('README environment variables', () => {
  it('every variable the server reads has a row in the Configuration table', () => {
    const code = serverVariables()
    // the parser above still finds what it must (a change of config.ts's shape would otherwise pass unnoticed)
    expect(code).toContain('AUDIT_WRITE_CONCURRENCY')
    expect(code).toContain('AUDIT_RETENTION_SCHEDULE')
    expect(code).toContain('NODE_ENV')
    const table = tableVariables()
    expect([...code].filter((v) => !table.has(v)).sort()).toEqual([])
  })

  it('every variable the README names is read by the code (server, library, tests or benchmarks)', () => {
    const names = new Set([...readme.matchAll(/\b(AUDIT_[A-Z0-9_]+|SUPABASE_[A-Z0-9_]+|[A-Z]+_DATABASE_URL|DATABASE_URL|CRON_SECRET|LOG_LEVEL|NODE_ENV)\b/g)].map((m) => m[1] as string))
    const sources = ['apps', 'packages', 'test', 'bench', 'scripts'].flatMap(sourceFiles).map((f) => read(f))
    const unknown = [...names].filter((n) => !sources.some((s) => new RegExp(`\\b${n}\\b`).test(s)))
    expect(names.size).toBeGreaterThan(20)
    expect(unknown.sort()).toEqual([])
  })
})
