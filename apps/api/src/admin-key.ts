import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * The admin key a server makes for itself when no AUDIT_API_KEYS are set:
 * read from `<dataDir>/admin-api-key`, or created there (mode 0600) on first start.
 */
export async function loadOrCreateAdminKey(dataDir: string): Promise<{ key: string; file: string; created: boolean }> {
  const file = path.join(dataDir, 'admin-api-key')
  try {
    const key = (await readFile(file, 'utf8')).trim()
    if (key.length >= 16) {
      await chmod(file, 0o600)
      return { key, file, created: false }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  // The data directory also holds the embedded database: private from the start.
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = `ak_${randomBytes(24).toString('base64url')}`
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'w' })
  await chmod(file, 0o600)
  return { key, file, created: true }
}
