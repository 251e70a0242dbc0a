/**
 * The migrations as a whole: one ledger (the Supabase CLI's), forward only,
 * and a schema Supabase's security advisor passes.
 *
 * Re-apply: the whole set is applied, then each file's SQL is run again by
 * hand, followed by the files after it (as a CLI or psql replay would), and
 * `pg_dump --schema-only` must not change. Every file added since the first
 * three also runs again alone with no change, followed only by the later files
 * that redefine one of its functions (a later file may replace a function's
 * body, as the trail's migration does the append-only trigger's). (The first three cannot: they
 * landed re-creating public helpers that later files remove, and landed
 * files are never edited; the ledger is what keeps them from re-running.)
 *
 * Lints: splinter's SQL (test/fixtures/splinter, copied with its source URL)
 * for 0011, 0024, 0028 and 0029 must answer no row.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '@audit/core/testing'
import { openPgliteStore } from '@audit/core/pglite'
import { openPostgresStore } from '@audit/core/postgres'
import { readMigrations, type Migration } from '../packages/audit-core/src/stores/migrate.ts'

const onServer = Boolean(process.env.TEST_DATABASE_URL)
/** The functions a file creates or replaces, schema-qualified. */
/** The functions a file defines or alters (`alter function … set …`): a file run again undoes a later file's either. */
const createdFunctions = (m: Migration) => new Set(Array.from(m.sql.matchAll(/(?:create or replace|alter) function\s+([\w."]+)\s*\(/gi), (x) => String(x[1]).toLowerCase()))
const LINTS_DIR = new URL('./fixtures/splinter/', import.meta.url)
const lints = readdirSync(LINTS_DIR)
  .filter((n) => n.endsWith('.sql'))
  .sort()
  .map((n) => [n, readFileSync(new URL(n, LINTS_DIR), 'utf8').replace(/^[\s\S]*?create view lint\."[^"]+" as/, '').replace(/;\s*$/, '')] as const)
// The schemas PostgREST exposes, as supabase/config.toml gives them (lints 0028/0029 read pgrst.db_schemas).
const exposed = (/^schemas\s*=\s*\[([^\]]*)\]/m.exec(readFileSync(new URL('../supabase/config.toml', import.meta.url), 'utf8'))?.[1] ?? '')
  .split(',')
  .map((s) => s.trim().replace(/^"|"$/g, ''))
  .join(', ')

const FIRST_NEW = '20261205000000'

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

function schemaDump(url: string): string {
  const bin = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
  // \restrict lines carry a random key on each run (pg_dump 15.14+)
  return execFileSync(`${bin}/pg_dump`, ['--schema-only', url], { encoding: 'utf8' }).replace(/^\\(un)?restrict .*$/gm, '')
}

describe('splinter security lints 0011, 0024, 0028, 0029 answer no row', () => {
  let lite: Awaited<ReturnType<typeof openPgliteStore>>
  beforeAll(async () => {
    lite = await openPgliteStore({ dataDir: 'memory://' })
    await lite.db.exec(`select set_config('pgrst.db_schemas', '${exposed}', false)`)
  }, 60_000)
  afterAll(() => lite.close())
  it.each(lints)('%s on PGlite', async (_name, sql) => {
    expect((await lite.db.query(sql)).rows).toEqual([])
  })
  it.runIf(onServer).each(lints)('%s on the Postgres server', async (_name, sql) => {
    const db = await createTestDatabase()
    try {
      const store = await openPostgresStore({ databaseUrl: db.url })
      await store.close()
      const rows = await withClient(db.url, async (c) => {
        await c.query(`select set_config('pgrst.db_schemas', $1, false)`, [exposed])
        return (await c.query(sql)).rows
      })
      expect(rows).toEqual([])
    } finally {
      await db.drop()
    }
  })
})

describe.runIf(onServer)('migrations on the Postgres server: one ledger, forward only', () => {
  let migrations: Migration[]
  beforeAll(async () => {
    migrations = await readMigrations()
  })

  describe('re-applying files leaves the schema as it was', () => {
    let db: TestDatabase
    beforeAll(async () => {
      db = await createTestDatabase()
      await (await openPostgresStore({ databaseUrl: db.url })).close()
    })
    afterAll(() => db.drop())

    it('the ledger keeps a second start from running anything', async () => {
      const before = schemaDump(db.url)
      const { migratePostgres } = await import('@audit/core/postgres')
      const pool = new pg.Pool({ connectionString: db.url, max: 1 })
      try {
        expect(await migratePostgres(pool)).toEqual([])
      } finally {
        await pool.end()
      }
      expect(schemaDump(db.url)).toBe(before)
    })

    it('each file run again, followed by the later ones: pg_dump --schema-only unchanged', async () => {
      const before = schemaDump(db.url)
      for (let i = 0; i < migrations.length; i++) {
        for (const m of migrations.slice(i)) await db.exec(m.sql)
        expect([migrations[i]?.name, schemaDump(db.url)]).toEqual([migrations[i]?.name, before])
      }
    })

    it('each file added since the first three runs again alone (with the later files that redefine its functions) with no change', async () => {
      const before = schemaDump(db.url)
      const added = migrations.filter((m) => m.version >= FIRST_NEW || m.version < '20261123060000')
      expect(added.length).toBeGreaterThan(0)
      for (const m of added) {
        // the later files that redefine a function of a file run again, and theirs in turn
        const names = createdFunctions(m)
        const run = [m]
        for (const l of migrations.filter((x) => x.version > m.version)) {
          const own = createdFunctions(l)
          if (![...own].some((f) => names.has(f))) continue
          run.push(l)
          for (const f of own) names.add(f)
        }
        for (const x of run) await db.exec(x.sql)
        expect([m.name, schemaDump(db.url)]).toEqual([m.name, before])
      }
    })
  })

  describe('the ledger', () => {
    let db: TestDatabase
    beforeEach(async () => {
      db = await createTestDatabase()
    })
    afterEach(() => db.drop())

    it("is the Supabase CLI's, with each file's version, name and SQL", async () => {
      await (await openPostgresStore({ databaseUrl: db.url })).close()
      const rows = await withClient(db.url, async (c) =>
        (await c.query<{ version: string; name: string; statements: string[] }>('select version, name, statements from supabase_migrations.schema_migrations order by version')).rows,
      )
      expect(rows.map((r) => `${r.version}_${r.name}.sql`)).toEqual(migrations.map((m) => m.name))
      expect(rows.map((r) => r.statements.join(''))).toEqual(migrations.map((m) => m.sql))
      const cols = await withClient(db.url, async (c) =>
        (await c.query<{ c: string }>("select column_name || ' ' || data_type as c from information_schema.columns where table_schema = 'supabase_migrations' and table_name = 'schema_migrations' order by ordinal_position")).rows.map((r) => r.c),
      )
      expect(cols).toEqual(['version text', 'statements ARRAY', 'name text'])
    })

    it('takes over the rows of the ledger earlier versions kept, and applies only what they lack', async () => {
      const old = migrations.filter((m) => ['20261123060000', '20261123070000', '20261123090000'].includes(m.version))
      for (const m of old) await db.exec(m.sql)
      await db.exec(
        `create schema audit_meta; create table audit_meta.schema_migrations (name text primary key, applied_at timestamptz not null default now());
         insert into audit_meta.schema_migrations (name) values ${old.map((m) => `('${m.name}')`).join(', ')};`,
      )
      const pool = new pg.Pool({ connectionString: db.url, max: 1 })
      const { migratePostgres } = await import('@audit/core/postgres')
      try {
        const applied = await migratePostgres(pool)
        expect(applied).toEqual(migrations.filter((m) => !old.includes(m)).map((m) => m.name))
      } finally {
        await pool.end()
      }
      const left = await withClient(db.url, async (c) => (await c.query("select to_regnamespace('audit_meta') as s")).rows[0])
      expect(left).toEqual({ s: null })
    })

    it('refuses to start on a database ahead of the code, naming the unknown version', async () => {
      await (await openPostgresStore({ databaseUrl: db.url })).close()
      await db.exec("insert into supabase_migrations.schema_migrations (version, name) values ('29991231000000', 'from_the_future')")
      await expect(openPostgresStore({ databaseUrl: db.url })).rejects.toThrow(/schema is ahead of this code: it has migration\(s\) 29991231000000/)
    })

    it('with migrations off, refuses a database behind the code, naming what is missing', async () => {
      await expect(openPostgresStore({ databaseUrl: db.url, migrate: false })).rejects.toThrow(/schema is behind this code: \d+ migration\(s\) not applied \(20261123050000_/)
      await (await openPostgresStore({ databaseUrl: db.url })).close()
      await (await openPostgresStore({ databaseUrl: db.url, migrate: false })).close()
    })
  })
})
