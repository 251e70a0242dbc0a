// Runs the checks, then the whole test suite with coverage, and ends with one
// plain summary line ("tests: N passed, N failed, N skipped") that CI reads.
// Each check (tsc on every tsconfig, eslint, madge) counts as one test.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { delimiter, resolve } from 'node:path'

const sourceDirs = ['packages', 'apps'].flatMap((d) => readdirSync(d).map((p) => `${d}/${p}/src`)).filter((d) => existsSync(d))
const checks = [
  ['tsc', '-p', 'tsconfig.json', '--noEmit'],
  ['tsc', '-p', 'apps/web/tsconfig.json', '--noEmit'],
  ['tsc', '-b', 'apps/api/tsconfig.build.json', 'packages/audit-core/tsconfig.testing.json'],
  ['eslint', '.'],
  ['madge', '--circular', ...sourceDirs],
]

// The workspace's own tools, also when run as plain `node scripts/test.mjs`.
const env = { ...process.env, PATH: `${resolve('node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}` }
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env, shell: process.platform === 'win32' })
  if (r.error) console.error(`${cmd}: ${r.error.message}`)
  return r
}

const checked = { passed: 0, failed: 0 }
for (const [cmd, ...args] of checks) {
  const started = performance.now()
  const { status } = run(cmd, args)
  const ok = status === 0
  checked[ok ? 'passed' : 'failed']++
  console.log(`${ok ? '✓' : '✗'} ${[cmd, ...args].join(' ')} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
}

const out = '.vitest-results.json'
rmSync(out, { force: true })
const tests = run('vitest', ['run', '--coverage', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)])
let summary
try {
  const r = JSON.parse(readFileSync(out, 'utf8'))
  summary = { passed: r.numPassedTests, failed: r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0), skipped: r.numPendingTests + r.numTodoTests }
} catch {
  summary = { passed: 0, failed: 1, skipped: 0 }
}
// A coverage threshold missed fails vitest with every test passed: count it as one failure.
if (tests.status !== 0 && summary.failed === 0) summary.failed = 1
summary.passed += checked.passed
summary.failed += checked.failed
console.log(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`)
process.exit(summary.failed === 0 && summary.passed > checked.passed ? 0 : 1)
