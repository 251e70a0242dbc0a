import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadOrCreateAdminKey } from './admin-key.ts'

describe('loadOrCreateAdminKey', () => {
  let root: string
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'audit-admin-key-'))
  })
  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('creates a key in a private data directory on first start, then reads the same key back', async () => {
    const dataDir = path.join(root, 'data')
    const first = await loadOrCreateAdminKey(dataDir)
    expect(first).toEqual({ key: expect.stringMatching(/^ak_[\w-]{32}$/), file: path.join(dataDir, 'admin-api-key'), created: true })
    expect(await readFile(first.file, 'utf8')).toBe(`${first.key}\n`)
    expect((await stat(first.file)).mode & 0o777).toBe(0o600)
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700)
    expect(await loadOrCreateAdminKey(dataDir)).toEqual({ key: first.key, file: first.file, created: false })
  })

  it('makes a kept key private again, and replaces one too short to be a key', async () => {
    const file = path.join(root, 'admin-api-key')
    await writeFile(file, 'kept-key-0123456789\n', { mode: 0o644 })
    expect(await loadOrCreateAdminKey(root)).toMatchObject({ key: 'kept-key-0123456789', created: false })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    await writeFile(file, 'short\n')
    const made = await loadOrCreateAdminKey(root)
    expect(made.created).toBe(true)
    expect(made.key).not.toBe('short')
  })

  it('fails with the file system error when the key cannot be read for another reason than absence', async () => {
    const notADir = path.join(root, 'file')
    await writeFile(notADir, '')
    await expect(loadOrCreateAdminKey(notADir)).rejects.toMatchObject({ code: 'ENOTDIR' })
  })
})
