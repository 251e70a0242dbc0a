import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config.ts'
import { createTestDatabase } from '@audit/core/testing'
import { openStore } from './open-store.ts'
import type { AuditStore } from './store.ts'

const ID = '01900000-0000-7000-8000-000000000001'

/** The store takes an event and gives it back. */
async function roundTrip(store: AuditStore): Promise<void> {
  expect(await store.insertEvents([{ id: ID, timestamp: '2030-01-01T00:00:00.000Z', source: 'system', operation_type: 'config_update', result: 'success', severity: 'info' }])).toBe(1)
  expect((await store.getEvent(ID))?.operation_type).toBe('config_update')
}

describe('openStore', () => {
  it('opens the embedded store the settings name, migrated and ready for events', async () => {
    const store = await openStore(loadConfig({ AUDIT_STORE: 'pglite', AUDIT_DATA_DIR: 'memory://' }))
    try {
      expect(store.kind).toBe('pglite')
      await roundTrip(store)
    } finally {
      await store.close()
    }
  })

  // On PGlite's socket server the postgres store needs a single shared connection, which no setting asks for.
  it.runIf(process.env.TEST_DATABASE_URL)('opens the postgres store on DATABASE_URL, migrated and ready for events', async () => {
    const db = await createTestDatabase()
    try {
      const store = await openStore(loadConfig({ AUDIT_STORE: 'postgres', DATABASE_URL: db.url, AUDIT_PG_READ_CONNECTIONS: '2', AUDIT_EXPORT_CONCURRENCY: '1' }))
      try {
        expect(store.kind).toBe('postgres')
        await roundTrip(store)
      } finally {
        await store.close()
      }
    } finally {
      await db.drop()
    }
  })

  it('says which setting is missing for a store named without its settings', async () => {
    await expect(openStore(loadConfig({ AUDIT_STORE: 'postgres' }))).rejects.toThrow(new ConfigError('AUDIT_STORE=postgres needs DATABASE_URL'))
    await expect(openStore(loadConfig({ AUDIT_STORE: 'supabase', SUPABASE_URL: 'https://x.supabase.co' }))).rejects.toThrow(
      new ConfigError('AUDIT_STORE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY'),
    )
  })
})
