/**
 * The served OpenAPI document, linted by the tools its users run:
 * `spectral lint` with `spectral:oas` and `redocly lint` with its recommended
 * rules (both CLIs pinned in the root package.json). Any error fails; so does
 * any warning not listed below with the reason it stays.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApp } from '../apps/api/test-support/test-app.ts'

const run = promisify(execFile)
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url))

/** Warnings that stay, each for a reason; anything else fails. */
const ACCEPTED = {
  spectral: {
    // no contact to name: this is a service each team runs for itself
    'info-contact': ['info'],
  },
  redocly: {
    // no key, no parameters, no input: these two have no 4xx to give
    'operation-4xx-response': ['#/paths/~1health/get/responses', '#/paths/~1metrics/get/responses'],
  },
}

interface SpectralResult {
  code: string
  message: string
  path: string[]
  severity: number // 0 error, 1 warning, 2 info, 3 hint
}
interface RedoclyProblem {
  ruleId: string
  message: string
  severity: 'error' | 'warn'
  location: { pointer: string }[]
}

let dir: string
let docPath: string

beforeAll(async () => {
  const t = await testApp()
  const r = await t.call('/openapi.json', { key: null })
  await t.close()
  expect(r.status).toBe(200)
  dir = await mkdtemp(path.join(tmpdir(), 'openapi-lint-'))
  docPath = path.join(dir, 'openapi.json')
  await writeFile(docPath, JSON.stringify(r.json, null, 2))
  await writeFile(path.join(dir, '.spectral.yaml'), 'extends: ["spectral:oas"]\n')
  await writeFile(path.join(dir, 'redocly.yaml'), 'extends:\n  - recommended\n')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs a linter; a non-zero exit is how both report errors, so the output is read either way. */
async function lint(file: string, args: string[]): Promise<string> {
  try {
    return (await run(bin(file), args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (e) {
    const out = (e as { stdout?: string }).stdout
    if (!out) throw e
    return out
  }
}

describe('the OpenAPI document, linted', () => {
  it('spectral (spectral:oas): no error, and only the accepted warnings', async () => {
    const out = await lint('spectral', ['lint', '--ruleset', '.spectral.yaml', '--format', 'json', '--fail-severity', 'error', docPath])
    const results = JSON.parse(out) as SpectralResult[]
    const errors = results.filter((r) => r.severity === 0).map((r) => `${r.code} at ${r.path.join('.')}: ${r.message}`)
    expect(errors).toEqual([])
    const warnings: Record<string, string[]> = {}
    for (const r of results.filter((r) => r.severity === 1)) (warnings[r.code] ??= []).push(r.path.join('.'))
    expect(warnings).toEqual(ACCEPTED.spectral)
  }, 120_000)

  it('redocly lint (recommended): no error, and only the accepted warnings', async () => {
    const out = await lint('redocly', ['lint', '--config', 'redocly.yaml', '--format', 'json', docPath])
    const { problems } = JSON.parse(out.slice(out.indexOf('{'))) as { problems: RedoclyProblem[] }
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)
    expect(errors).toEqual([])
    const warnings: Record<string, string[]> = {}
    for (const p of problems.filter((p) => p.severity === 'warn')) (warnings[p.ruleId] ??= []).push(p.location[0]?.pointer ?? '')
    expect(warnings).toEqual(ACCEPTED.redocly)
  }, 120_000)
})
