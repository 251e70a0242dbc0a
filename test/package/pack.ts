import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT, ensureBuilt } from '../server-process.ts'

export const CORE = path.join(ROOT, 'packages/audit-core')

export interface Packed {
  /** The tarball, as `pnpm pack` makes it for publishing. */
  tarball: string
  /** Its contents, unpacked (the `package/` folder). */
  dir: string
  remove(): void
}

/**
 * Packs @audit/core as it would be published, from a build brought up to
 * date first; the pack's own lifecycle scripts (prepack's clean build) are
 * skipped, so that other tests using dist/ meanwhile never see it emptied.
 */
export function packCore(): Packed {
  ensureBuilt()
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'audit-core-pack-'))
  const run = (cmd: string, args: string[], cwd: string) => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`)
  }
  run('npx', ['-y', 'pnpm@10.34.9', 'pack', '--config.ignore-scripts=true', '--pack-destination', tmp], CORE)
  const name = readdirSync(tmp).find((f) => f.endsWith('.tgz'))
  if (!name) throw new Error(`pnpm pack wrote no tarball in ${tmp}`)
  run('tar', ['xzf', name], tmp)
  return { tarball: path.join(tmp, name), dir: path.join(tmp, 'package'), remove: () => rmSync(tmp, { recursive: true, force: true }) }
}

/** Every file under `dir`, as paths relative to it with `/`. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort()
}
