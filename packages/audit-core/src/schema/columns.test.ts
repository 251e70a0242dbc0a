/**
 * The column spec (columns.ts) against the migrated database: every column's
 * type, length and nullability in `information_schema.columns`, every CHECK
 * constraint's values or pattern in `pg_constraint`, both ways; then the
 * boundaries themselves: what the schema accepts at a limit the database
 * stores, and one past it both refuse. On PGlite always, and on the Postgres
 * server when TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPgliteStore } from '../stores/pglite-store.ts'
import { openPostgresStore } from '../stores/postgres-store.ts'
import type { AuditStore } from '../stores/store.ts'
import { createTestDatabase } from '@audit/core/testing'
import { newEventId } from '../uuid7.ts'
import { COLUMNS, EVENT_COLUMNS, EventInputSchema, isIpAddress, type ColumnSpec, type EventRow } from './event.ts'

interface Engine {
  store: AuditStore
  query<T>(text: string): Promise<T[]>
  close(): Promise<void>
}

const engines: [string, () => Promise<Engine>][] = [
  [
    'pglite',
    async () => {
      const store = await openPgliteStore({ dataDir: 'memory://' })
      return { store, query: async <T,>(text: string) => (await store.db.query<T>(text)).rows, close: () => store.close() }
    },
  ],
]
if (process.env.TEST_DATABASE_URL) {
  engines.push([
    'postgres server (TEST_DATABASE_URL)',
    async () => {
      const db = await createTestDatabase()
      const store = await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions })
      return {
        store,
        query: async <T,>(text: string) => (await store.pools.read.query(text)).rows as T[],
        close: async () => {
          await store.close()
          await db.drop()
        },
      }
    },
  ])
}

const specs = Object.entries(COLUMNS) as [string, ColumnSpec][]
const EMOJI = '\u{1F600}' // one character to Postgres, two UTF-16 units
const ok = { source: 'api-service', operation_type: 'spec_probe', result: 'success' } as const

/** A CHECK as Postgres prints it: the column and its allowed values, or its pattern. */
function parseCheck(def: string): { column: string; values?: string[]; pattern?: string } {
  const column = /^CHECK \(+"?([a-z_]+)"?\)?/.exec(def)?.[1] ?? '?'
  const pattern = /~ '((?:[^']|'')*)'::text/.exec(def)?.[1]
  if (pattern !== undefined) return { column, pattern: pattern.replace(/''/g, "'") }
  const values = [...def.matchAll(/'((?:[^']|'')*)'::character varying/g)].map((m) => (m[1] as string).replace(/''/g, "'"))
  return { column, values }
}

for (const [name, open] of engines) {
  describe(`column spec against the migrated database on ${name}`, () => {
    let db: Engine
    beforeAll(async () => {
      db = await open()
    })
    afterAll(() => db.close())

    it('names every column in table order, with its type, length and nullability', async () => {
      const rows = await db.query<{ column_name: string; data_type: string; character_maximum_length: number | null; is_nullable: string }>(
        `select column_name, data_type, character_maximum_length, is_nullable from information_schema.columns
         where table_schema = 'public' and table_name = 'audit_events' order by ordinal_position`,
      )
      expect(rows.map((r) => r.column_name)).toEqual([...EVENT_COLUMNS])
      expect(rows.map((r) => [r.column_name, r.data_type, r.character_maximum_length, r.is_nullable])).toEqual(
        specs.map(([col, c]) => [col, c.type, c.maxLength ?? null, c.nullable ? 'YES' : 'NO']),
      )
    })

    it('has exactly the CHECK constraints the spec states, with the same values and patterns', async () => {
      const rows = await db.query<{ def: string }>(
        `select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'public.audit_events'::regclass and contype = 'c' order by conname`,
      )
      const inDb = Object.fromEntries(rows.map((r) => parseCheck(r.def)).map(({ column, ...rule }) => [column, rule]))
      const inSpec = Object.fromEntries(
        specs.filter(([, c]) => c.values !== undefined || c.pattern !== undefined).map(([col, c]) => [col, c.pattern !== undefined ? { pattern: c.pattern } : { values: [...(c.values ?? [])] }]),
      )
      expect(inDb).toEqual(inSpec)
      // every allowed value fits its column
      for (const [col, c] of specs) for (const v of c.values ?? []) expect([col, v.length <= (c.maxLength ?? Infinity)]).toEqual([col, true])
    })

    /** The schema's answer and the database's answer for one value of one column. */
    async function both(col: string, value: unknown): Promise<{ schema: boolean; database: boolean }> {
      const schema = EventInputSchema.safeParse({ ...ok, [col]: value }).success
      const row = { ...ok, severity: 'info', id: newEventId(), timestamp: '2026-11-20T12:00:00.000Z', [col]: value } as EventRow
      let database = true
      try {
        await db.store.insertEvents([row])
        const back = await db.store.getEvent(row.id)
        // stored exactly, or it does not count as stored
        if (col !== 'timestamp') expect((back as unknown as Record<string, unknown>)[col]).toEqual(value)
      } catch (e) {
        if (!db.store.isDataError(e)) throw e
        database = false
      }
      return { schema, database }
    }

    it('agrees with the database at every length limit: the limit fits, one more character does not', async () => {
      for (const [col, c] of specs) {
        if (c.maxLength === undefined || c.values) continue
        const unit = c.pattern ? 'x' : EMOJI // a free-text limit counts characters, not UTF-16 units
        expect([col, await both(col, unit.repeat(c.maxLength))]).toEqual([col, { schema: true, database: true }])
        expect([col, await both(col, unit.repeat(c.maxLength + 1))]).toEqual([col, { schema: false, database: false }])
      }
    })

    it('agrees with the database on CHECK values and patterns', async () => {
      for (const [col, c] of specs) {
        for (const v of c.values ?? []) expect([col, v, await both(col, v)]).toEqual([col, v, { schema: true, database: true }])
        if (c.values) expect([col, await both(col, 'nonesuch')]).toEqual([col, { schema: false, database: false }])
        if (c.pattern) expect([col, await both(col, 'Not Valid!')]).toEqual([col, { schema: false, database: false }])
      }
    })

    it('stores every address the schema takes, as given', async () => {
      const addresses = ['203.0.113.9', '0.0.0.0', '255.255.255.255', '::', '::1', '1::', '2001:db8::1', 'fe80::1', '::ffff:10.0.0.1', '::1.2.3.4']
      for (const a of addresses) {
        expect(isIpAddress(a)).toBe(true)
        const { database } = await both('ip_address', a)
        expect([a, database]).toEqual([a, true])
      }
    })

    it('takes the first and last instants the time rule allows', async () => {
      for (const ts of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
        expect([ts, await both('timestamp', ts)]).toEqual([ts, { schema: true, database: true }])
      }
    })

    // The drivers' own timestamptz parsers read years 0001-0099 as 1901-1999; the stores read the text (dbTimestamp).
    it('reads a year-0001 event back unchanged', async () => {
      const row = { ...ok, severity: 'info', id: newEventId(), timestamp: '0001-01-01T00:00:00.000Z' } as EventRow
      await db.store.insertEvents([row])
      expect((await db.store.getEvent(row.id))?.timestamp).toBe('0001-01-01T00:00:00.000Z')
    })
  })
}
