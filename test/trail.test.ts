import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventsToNdjson, leafOf, readDatabaseTrail, signCheckpoint, toFilters, verifyTrail, type Checkpoint, type TrailReport } from '@audit/core'
import { createTestDatabase, describeEngine, seedEvents, type TestDatabase } from '@audit/core/testing'
import { openPostgresStore } from '@audit/core/postgres'
import { main } from '../packages/audit-core/src/cli.ts'

// The trail's tamper tests: as the database owner, around the append-only
// trigger, every kind of cheating is found at the right position.

const keyA = generateKeyPairSync('ed25519')
const keyB = generateKeyPairSync('ed25519')

let db: TestDatabase
let client: pg.Client
const batches: string[][] = []

async function q<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  return (await client.query<R>(text, params)).rows
}

async function checkpoint(seq: number): Promise<Checkpoint> {
  return (await q<{ c: Checkpoint }>('select c from public.audit_trail_checkpoints($1, 1) c', [seq - 1]))[0]!.c
}

/** Signs the newest checkpoint with `key` and records it, as the API server does. */
async function signHead(key = keyA.privateKey) {
  const [head] = await q<{ h: { seq: number } }>('select public.audit_trail_head() as h')
  const s = signCheckpoint(await checkpoint(head!.h.seq), key)
  await q('select public.audit_trail_record_signature($1, $2, $3, $4, $5)', [s.seq, s.hash, s.signed_at, s.key_id, s.signature])
  return s
}

async function verify(publicKey = keyA.publicKey, extraSigned: ReturnType<typeof signCheckpoint>[] = []): Promise<TrailReport> {
  const trail = await readDatabaseTrail(client)
  return verifyTrail({ ...trail, signatures: [...trail.signatures, ...extraSigned], publicKey })
}

/** Runs a cheat in a transaction, verifies inside it, and rolls it back: the next test starts from the clean trail. */
async function cheat(sql: string, params: unknown[] = [], signed: ReturnType<typeof signCheckpoint>[] = []): Promise<TrailReport> {
  await q('begin')
  try {
    for (const s of sql.split(';\n').filter((x) => x.trim())) await q(s, s.includes('$1') ? params : [])
    return await verify(keyA.publicKey, signed)
  } finally {
    await q('rollback')
  }
}

const first = (r: TrailReport) => r.problems[0]

beforeAll(async () => {
  db = await createTestDatabase({ migrated: true })
  // the library's store writes three batches (COPY on a server, the insert function on PGlite)
  const store = await openPostgresStore({ databaseUrl: db.url, ...db.storeOptions })
  for (let b = 0; b < 3; b++) {
    const rows = seedEvents(20, { now: Date.parse('2026-11-20T12:00:00Z'), days: 2, seed: b + 1 })
    await store.insertEvents(rows)
    batches.push(rows.map((r) => r.id).sort())
  }
  await store.close()
  client = new pg.Client({ connectionString: db.url })
  await client.connect()
  // an old writer: a plain INSERT of a few columns (timestamp from now(), with microseconds)
  const old = await q<{ id: string }>(
    `insert into public.audit_events (source, operation_type, result, message) values ('system', 'legacy', 'success', 'old writer'), ('system', 'legacy', 'warning', null) returning id`,
  )
  batches.push(old.map((r) => r.id).sort())
  // the Supabase RPC path
  const rpcRows = seedEvents(5, { now: Date.parse('2026-11-21T12:00:00Z'), days: 1, seed: 9 })
  await q('select public.audit_insert_events($1::text::json)', [JSON.stringify(rpcRows)])
  batches.push(rpcRows.map((r) => r.id).sort())
  await signHead()
}, 60_000)

afterAll(async () => {
  await client?.end()
  await db?.drop()
})

describe(`the trail on ${describeEngine()}`, () => {
  it('verifies clean: one checkpoint per batch, whatever wrote it, signed', async () => {
    const r = await verify()
    expect(r.problems).toEqual([])
    expect(r).toMatchObject({ intact: true, events: 67, checkpoints: 5, last_checkpoint: { seq: 5 }, last_signed: { seq: 5, verified: true } })
    for (const [i, ids] of batches.entries()) expect((await checkpoint(i + 1)).ids).toEqual(ids)
  })

  it('finds one field updated by the owner with the append-only trigger disabled', async () => {
    const id = batches[1]![7]!
    const r = await cheat(`alter table public.audit_events disable trigger audit_events_no_update;
update public.audit_events set operation_type = operation_type || '_x' where id = $1`, [id])
    expect(first(r)).toMatchObject({ kind: 'altered_row', seq: 2, position: 7, id })
    expect(r.problems).toHaveLength(1)
  })

  it('finds one row deleted with every trigger disabled', async () => {
    const id = batches[0]![3]!
    const r = await cheat(`alter table public.audit_events disable trigger user;
delete from public.audit_events where id = $1`, [id])
    expect(first(r)).toMatchObject({ kind: 'removed_row', seq: 1, position: 3, id })
  })

  it('names a delete around the delete functions as unauthorised when only the append-only trigger was disabled', async () => {
    const id = batches[2]![0]!
    const r = await cheat(`alter table public.audit_events disable trigger audit_events_no_update;
delete from public.audit_events where id = $1`, [id])
    expect(first(r)).toMatchObject({ kind: 'unauthorised_deletion', seq: 6 })
    expect(r.problems).toHaveLength(1)
  })

  it('finds the newest rows and their checkpoints deleted (a truncated tail) against the last signed checkpoint', async () => {
    const r = await cheat(`alter table public.audit_events disable trigger user;
alter table public.audit_checkpoints disable trigger user;
delete from public.audit_events where id = any(select unnest(ids) from public.audit_checkpoints where seq >= 4);
delete from public.audit_checkpoints where seq >= 4;
update audit_private.trail_head set seq = 3, hash = (select hash from public.audit_checkpoints where seq = 3)`)
    expect(first(r)).toMatchObject({ kind: 'truncated_tail', seq: 4 })
    expect(first(r)?.message).toContain('ends at checkpoint 3, but checkpoint 5 was signed')
  })

  it('finds a removed batch in the middle', async () => {
    const r = await cheat(`alter table public.audit_events disable trigger user;
alter table public.audit_checkpoints disable trigger user;
delete from public.audit_events where id = any(select unnest(ids) from public.audit_checkpoints where seq = 2);
delete from public.audit_checkpoints where seq = 2`)
    expect(first(r)).toMatchObject({ kind: 'removed_batch', seq: 2 })
  })

  it('finds two batches reordered', async () => {
    const r = await cheat(`alter table public.audit_checkpoints disable trigger user;
update public.audit_checkpoints set seq = -seq where seq in (2, 3);
update public.audit_checkpoints set seq = 5 + seq where seq in (-2, -3)`)
    // 2 and 3 swapped: seq 2 now holds batch 3, whose prev_hash is batch 2's hash
    expect(first(r)).toMatchObject({ kind: 'broken_link', seq: 2 })
  })

  it('finds a checkpoint replaced and the chain re-signed with another key', async () => {
    const published = await signHead() // already signed: the API publishes the first signature of each checkpoint
    const id = batches[1]![0]!
    // the owner alters a row, recomputes the chain from its batch on, and signs the new head with a key of his own
    const r = await (async () => {
      await q('begin')
      try {
        await q('alter table public.audit_events disable trigger audit_events_no_update')
        await q('alter table public.audit_checkpoints disable trigger user')
        await q(`update public.audit_events set message = 'nothing happened' where id = $1`, [id])
        let prev = (await checkpoint(1)).hash
        for (let seq = 2; seq <= 5; seq++) {
          await q(
            `update public.audit_checkpoints c set prev_hash = $2,
               leaves = (select string_agg(audit_private.leaf(e), ''::bytea order by e.id) from public.audit_events e where e.id = any(c.ids)),
               root = encode(sha256((select string_agg(audit_private.leaf(e), ''::bytea order by e.id) from public.audit_events e where e.id = any(c.ids))), 'hex')
             where seq = $1`,
            [seq, prev],
          )
          const c = await checkpoint(seq)
          const { checkpointHash } = await import('@audit/core')
          prev = checkpointHash(c)
          await q('update public.audit_checkpoints set hash = $2 where seq = $1', [seq, prev])
        }
        await q('delete from public.audit_signed_checkpoints')
        await signHead(keyB.privateKey)
        return await verify(keyA.publicKey, [])
      } finally {
        await q('rollback')
      }
    })()
    expect(first(r)).toMatchObject({ kind: 'bad_signature', seq: 5 })
    expect(published.seq).toBe(5)
  })

  it('finds a rewritten chain against a signature published outside the database', async () => {
    const [published] = await q<{ s: ReturnType<typeof signCheckpoint> }>('select s from public.audit_trail_signatures() s')
    const r = await cheat(`alter table public.audit_checkpoints disable trigger user;
update public.audit_checkpoints set created_at = created_at where seq = 5;
update public.audit_checkpoints set hash = repeat('a', 64) where seq = 5;
delete from public.audit_signed_checkpoints`, [], [published!.s])
    expect(r.problems.map((p) => p.kind)).toEqual(['altered_checkpoint', 'rewritten_history'])
    expect(r.problems.every((p) => p.seq === 5)).toBe(true)
  })

  it('keeps the proof through an authorised deletion and an erasure, and records both in the chain', async () => {
    await q('begin')
    try {
      const n = await q<{ n: number }>(`select public.audit_delete_events($1::jsonb, 1000) as n`, [JSON.stringify(toFilters({ operation_type: ['legacy'] }, {}))])
      expect(n[0]!.n).toBe(2)
      const target = batches[0]![5]!
      const [erased] = await q<{ seq: string }>(`select public.audit_erase_event($1, array['message', 'operator', 'extra_info'], 'GDPR art. 17 request 42') as seq`, [target])
      expect(Number(erased!.seq)).toBe(7)
      const [row] = await q<{ message: string | null; extra_info: unknown }>('select message, extra_info from public.audit_events where id = $1', [target])
      expect(row).toEqual({ message: null, extra_info: null })
      const r = await verify()
      expect(r.problems).toEqual([])
      expect(r).toMatchObject({ intact: true, events: 65, deleted: 2, erased: 1 })
      expect((await checkpoint(6)).reason).toBe('audit_delete_events')
      // a value written back into an erased field is found
      await q('alter table public.audit_events disable trigger audit_events_no_update')
      await q(`update public.audit_events set message = 'forged' where id = $1`, [target])
      expect(first(await verify())).toMatchObject({ kind: 'altered_row', seq: 1, position: 5, id: target })
    } finally {
      await q('rollback')
    }
  })

  it('finds a row written around the trail', async () => {
    const r = await cheat(`alter table public.audit_events disable trigger audit_events_trail_insert;
insert into public.audit_events (source, operation_type, result) values ('system', 'sneaky', 'success')`)
    expect(first(r)).toMatchObject({ kind: 'unrecorded_row', seq: null })
  })
})

describe(`audit-events verify on ${describeEngine()}`, () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trail-'))
    await writeFile(path.join(dir, 'key.pem'), keyA.publicKey.export({ type: 'spki', format: 'pem' }))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const run = async (args: string[]) => {
    const out: string[] = []
    const code = await main(args, (s) => out.push(s), (s) => out.push(s))
    return { code, out: out.join('\n') }
  }

  it('exits 0 on a clean database, 1 with the first break on a tampered export', async () => {
    const clean = await run(['verify', '--database-url', db.url, '--public-key', path.join(dir, 'key.pem')])
    expect(clean.out).toMatch(/^INTACT: 67 events, 5 checkpoints/)
    expect(clean.code).toBe(0)

    // the export endpoint's NDJSON and the checkpoints export
    const events = (await q<{ e: Record<string, unknown> }>('select to_json(e) as e from public.audit_events e order by "timestamp", id')).map((r) => r.e)
    const { toAuditEvent } = await import('../packages/audit-core/src/stores/store.ts')
    const ndjson = eventsToNdjson(events.map(toAuditEvent))
    const cps = (await q<{ c: unknown }>('select c from public.audit_trail_checkpoints(0, 10000) c')).map((r) => JSON.stringify(r.c))
    const sigs = (await q<{ s: unknown }>('select s from public.audit_trail_signatures() s')).map((r) => JSON.stringify(r.s))
    await writeFile(path.join(dir, 'events.ndjson'), ndjson)
    await writeFile(path.join(dir, 'checkpoints.ndjson'), `${[...cps, ...sigs].join('\n')}\n`)
    const args = ['verify', '--file', path.join(dir, 'events.ndjson'), '--checkpoints', path.join(dir, 'checkpoints.ndjson'), '--public-key', path.join(dir, 'key.pem')]
    expect(await run(args)).toMatchObject({ code: 0 })

    const lines = ndjson.trimEnd().split('\n')
    const victim = JSON.parse(lines[10]!) as { id: string; message: string | null }
    lines[10] = JSON.stringify({ ...victim, message: `${victim.message ?? ''}!` })
    await writeFile(path.join(dir, 'events.ndjson'), `${lines.join('\n')}\n`)
    const broken = await run(args)
    expect(broken.code).toBe(1)
    expect(broken.out).toContain(`first break: altered_row at checkpoint`)
    expect(broken.out).toContain(victim.id)
  })

  it('exits 2 on a usage error', async () => {
    expect((await run(['verify'])).code).toBe(2)
  })
})

describe(`leaves on ${describeEngine()}`, () => {
  it('are the same bytes in the database and in the verifier for tricky rows', async () => {
    const extras = [
      { b: 1, aa: [1.0, 1e21, 1e-7, 0.1, 1.5, -0, 123456789012345680000, 1e300], 'é': 'x\u0001\u001f\u007f"\\/\n\t', '\uE000': 1, '\u{1F600}': 2, a: { z: null, y: [true, false, {}] } },
      { '10': 1, '9': 2, A: 'Ω', ä: '😀' },
      // flat objects: serialised in the leaves query, or by jcs when a member needs it
      { z: 'x\u0001"\\', y: true, x: null, w: -12, v: 0, u: 123456789012345 },
      { z: -0, y: 1.5, x: 1e15, w: 12345678901234568 },
      { '\uE001': 1, '\u{1F600}': 2, b: 'x' },
      {},
      [],
      'a string',
    ]
    await q('begin')
    try {
      for (const [i, x] of extras.entries()) {
        // number tokens as a writer would send them, beyond what JSON.stringify makes
        const raw = JSON.stringify(x).replace('[1,', '[1.0,').replace(',1.5,', ',1.50,').replace('1e+300', '1E300').replace('123456789012345680000', '123456789012345678901').replace('{"z":0,', '{"z":-0,')
        await q(
          `insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message, extra_info, ip_address, user_agent)
           values (gen_random_uuid(), '2026-11-20T12:00:00.123456Z'::timestamptz + $1 * interval '1 microsecond', 'api-service', 'Zoë <z@example.com>', 'x', 'success', $2, $3::jsonb, '2001:db8::1', 'ua\u0002')`,
          [i, `line\r\nwith "quotes", tab\t, nul-free \u0008 and 𝄞`, raw],
        )
      }
      const rows = await q<{ e: Record<string, unknown>; leaf: string }>(
        `select to_json(e) as e, encode(audit_private.leaf(e), 'hex') as leaf from public.audit_events e where operation_type = 'x'`,
      )
      const { toAuditEvent } = await import('../packages/audit-core/src/stores/store.ts')
      expect(rows).toHaveLength(extras.length)
      for (const r of rows) expect(leafOf(toAuditEvent(r.e))).toBe(r.leaf)
      // the rows' microseconds survive the API's form
      expect(toAuditEvent(rows[1]!.e).timestamp).toBe('2026-11-20T12:00:00.123457Z')
    } finally {
      await q('rollback')
    }
  })
})
