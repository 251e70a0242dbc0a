// Runs the whole test suite and ends with one plain summary line
// ("tests: N passed, N failed, N skipped") that CI reads.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'

const out = '.vitest-results.json'
rmSync(out, { force: true })
const run = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { stdio: 'inherit', shell: process.platform === 'win32' },
)
let summary
try {
  const r = JSON.parse(readFileSync(out, 'utf8'))
  summary = { passed: r.numPassedTests, failed: r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0), skipped: r.numPendingTests + r.numTodoTests }
} catch {
  summary = { passed: 0, failed: 1, skipped: 0 }
}
console.log(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`)
process.exit(run.status === 0 && summary.failed === 0 && summary.passed > 0 ? 0 : 1)
