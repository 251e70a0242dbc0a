/**
 * What `import '@audit/core'` costs an application's start, alone and with
 * each store loaded as it opens (its entry and its driver), on the built
 * dist/: each figure the median of fresh `node` processes, the runs of the
 * cases interleaved so that a busy machine slows them alike. The last row
 * is every driver at once, which the library loaded on import before the
 * stores loaded theirs on open.
 *
 *   pnpm build && tsx bench/import-cost.ts [--runs 15]     # prints the figures, writes nothing
 *   pnpm bench --only import                               # the same as a section of the benchmarks
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROOT, fmt, percentile, report } from './lib.ts'

/** The package's own folder: `@audit/core` resolves there by its own name, and the drivers beside it. */
const CORE = path.join(ROOT, 'packages/audit-core')

const CASES: { measure: string; imports: string[] }[] = [
  { measure: "import '@audit/core'", imports: ['@audit/core'] },
  { measure: 'with the Postgres store (/postgres, pg, pg-copy-streams)', imports: ['@audit/core', '@audit/core/postgres', 'pg', 'pg-copy-streams'] },
  { measure: 'with the PGlite store (/pglite, @electric-sql/pglite)', imports: ['@audit/core', '@audit/core/pglite', '@electric-sql/pglite'] },
  { measure: 'with the Supabase store (/supabase, @supabase/supabase-js)', imports: ['@audit/core', '@audit/core/supabase', '@supabase/supabase-js'] },
  { measure: 'with every store and driver (as every import did before)', imports: ['@audit/core', '@audit/core/postgres', '@audit/core/pglite', '@audit/core/supabase', 'pg', 'pg-copy-streams', '@electric-sql/pglite', '@supabase/supabase-js'] },
]

/** Milliseconds from the first import to the last one resolved, in a fresh process. */
function timeImports(imports: string[]): number {
  const code = `const t0 = performance.now(); for (const m of ${JSON.stringify(imports)}) await import(m); process.stdout.write(String(performance.now() - t0))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: CORE, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
  if (r.status !== 0) throw new Error(`importing ${imports.join(', ')} failed:\n${r.stderr}`)
  return Number(r.stdout)
}

export function importCost(runs = 15): void {
  console.log(`\nimport cost: ${runs} fresh processes per case, node ${process.version}, built dist/`)
  const times = CASES.map(() => [] as number[])
  for (let i = 0; i < runs; i++) for (const [c, { imports }] of CASES.entries()) times[c]!.push(timeImports(imports))
  const [base, ...rest] = times.map((t) => percentile(t, 50))
  report({ scenario: 'import', measure: `${CASES[0]!.measure}: p50`, value: base!, unit: 'ms' })
  for (const [i, ms] of rest.entries()) {
    report({ scenario: 'import', measure: `${CASES[i + 1]!.measure}: p50`, value: ms, unit: 'ms', baseline: "import '@audit/core'", baselineValue: base!, lowerIsBetter: true })
  }
  console.log(`(p95 of each: ${times.map((t) => fmt(percentile(t, 95))).join(', ')} ms)`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const i = process.argv.indexOf('--runs')
  importCost(i > 0 ? Number(process.argv[i + 1]) : undefined)
}
