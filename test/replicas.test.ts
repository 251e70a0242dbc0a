/**
 * Many replicas, one database: three API server processes (the production
 * command) on one Postgres database, ingested through all at once — unique
 * batches, the same batch sent to two or three replicas at the same moment,
 * the same events in opposite orders, and a batch re-sent to another replica
 * after the one answering it was killed while its write waited in the
 * database. Afterwards every acknowledged event is in the table once and
 * unaltered, the trail verifies with no gap in its chain, the scheduled
 * retention ran once for the three replicas' common tick, and each
 * checkpoint was signed (and published) by one replica only.
 *
 * With TEST_DATABASE_URL a fresh database on that server; without it a
 * throwaway cluster from `pg_config --bindir` (test/chaos/cluster.ts): three
 * processes cannot share an embedded PGlite directory. Where there are no
 * server binaries either, the test fails and says so.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '@audit/core/testing'
import { openPostgresStore } from '@audit/core/postgres'
import { PRODUCTION, ensureBuilt, freePort, startServer, type RunningServer } from './server-process.ts'
import { clusterUnavailable, startCluster, type ChaosCluster } from './chaos/cluster.ts'

const KEY = 'replicas-admin-key-0123456789abcdef'
const SOURCE = 'replica-test'
const DAY = 86_400_000
/** Events older than the retention policy, written before the replicas start. */
const AGED = 40
/** Seconds from the replicas' spawn to their common retention tick: after their start (about 1 s), during the concurrent load. */
const TICK_AFTER_S = 8

interface SentEvent {
  id: string
  timestamp: string
  source: string
  operation_type: string
  result: 'success' | 'failure'
  severity: 'info' | 'error'
  message: string
  tenant_id: string
  extra_info: Record<string, unknown>
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function makeEvents(kind: string, n: number, at = Date.now()): SentEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    timestamp: new Date(at - i).toISOString(),
    source: SOURCE,
    operation_type: kind,
    result: i % 7 === 0 ? 'failure' : 'success',
    severity: i % 7 === 0 ? 'error' : 'info',
    message: `${kind} ${i} ünï\t"quoted"`,
    tenant_id: `t${i % 3}`,
    extra_info: { i, kind, nested: { ok: i % 2 === 0 } },
  }))
}

/** HH:MM:SS (UTC) of a moment, for AUDIT_RETENTION_SCHEDULE. */
function hms(t: number): string {
  return new Date(t).toISOString().slice(11, 19)
}

describe(`three API replicas on one database (${process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'a Postgres cluster of its own'})`, () => {
  let testDb: TestDatabase | undefined
  let cluster: ChaosCluster | undefined
  let pool: pg.Pool
  let dbUrl: string
  const dirs: string[] = []
  const replicas: RunningServer[] = []
  const checkpointDirs: string[] = []
  const publicKeys: { pem: string } = { pem: '' }
  let tickAt = 0
  const aged = makeEvents('aged', AGED, Date.now() - 400 * DAY)

  beforeAll(async () => {
    if (process.env.TEST_DATABASE_URL) {
      testDb = await createTestDatabase()
      dbUrl = testDb.url
    } else {
      const reason = clusterUnavailable()
      if (reason) {
        throw new Error(
          `the replica test needs a Postgres server that several processes share: set TEST_DATABASE_URL, or install the PostgreSQL server binaries (initdb, pg_ctl from pg_config --bindir). Here: ${reason}`,
        )
      }
      cluster = await startCluster()
      dbUrl = await cluster.createDatabase('replicas')
    }
    pool = new pg.Pool({ connectionString: dbUrl, max: 3 })
    pool.on('error', () => {})

    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    publicKeys.pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

    // the schema, and the events the tick's retention run deletes (400 days old, policy 365), before the replicas
    // start: their start then only checks the schema, and the tick below can be close to it
    const store = await openPostgresStore({ databaseUrl: dbUrl })
    await store.insertEvents(aged)
    await store.close()
    ensureBuilt()

    const spawnedAt = Date.now()
    tickAt = Math.ceil((spawnedAt + TICK_AFTER_S * 1000) / 1000) * 1000
    const env = async (i: number): Promise<Record<string, string>> => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `audit-replica-${i}-`))
      const checkpointDir = path.join(dataDir, 'checkpoints')
      dirs.push(dataDir)
      checkpointDirs[i] = checkpointDir
      return {
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        AUDIT_API_KEYS: `admin:replica-test:${KEY}`,
        AUDIT_STORE: 'postgres',
        DATABASE_URL: dbUrl,
        SUPABASE_URL: '',
        SUPABASE_SERVICE_ROLE_KEY: '',
        AUDIT_DATA_DIR: dataDir,
        AUDIT_COUNT_CAP: '1000000',
        AUDIT_FLUSH_INTERVAL_MS: '50',
        AUDIT_RETRY_MAX_MS: '1000',
        AUDIT_LOGGING_QUEUE_SIZE: '5000',
        AUDIT_RETENTION_DAYS: '365',
        AUDIT_RETENTION_SCHEDULE: hms(tickAt),
        AUDIT_SIGNING_KEY: signingKey,
        AUDIT_CHECKPOINT_SIGN_INTERVAL: '1',
        AUDIT_CHECKPOINT_DIR: checkpointDir,
        AUDIT_EXPORT_LINK_SECRET: 'replica-test-export-link-secret-0123456789',
        LOG_LEVEL: 'warn',
      }
    }
    const envs = await Promise.all([0, 1, 2].map(env))
    replicas.push(...(await Promise.all(envs.map((e) => startServer(e, PRODUCTION)))))
    const ready = Date.now()
    if (ready > tickAt - 500) throw new Error(`the replicas took ${((ready - spawnedAt) / 1000).toFixed(1)} s to start: past their retention tick at +${TICK_AFTER_S} s`)
    console.log(`replicas: 3 started in ${((ready - spawnedAt) / 1000).toFixed(1)} s; retention tick at ${hms(tickAt)} UTC`)
  }, 120_000)

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')))
    await pool?.end()
    await testDb?.drop()
    await cluster?.destroy()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  const headers = (async: boolean) => ({
    authorization: `Bearer ${KEY}`,
    'content-type': 'application/json',
    ...(async ? { prefer: 'respond-async' } : {}),
  })

  async function post(replica: number, events: SentEvent[], async = false): Promise<{ status: number | string; ids: string[]; retryAfter: number }> {
    try {
      const res = await fetch(`${replicas[replica]!.url}api/v1/audit/events`, {
        method: 'POST',
        headers: headers(async),
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(20_000),
      })
      const body = (await res.json().catch(() => ({}))) as { ids?: string[] }
      return { status: res.status, ids: body.ids ?? [], retryAfter: Number(res.headers.get('retry-after') ?? 1) }
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } }
      return { status: e.cause?.code ?? e.name ?? 'error', ids: [], retryAfter: 0 }
    }
  }

  /** What the replicas acknowledged: id → the event, and how the requests went. */
  const acked = new Map<string, SentEvent>()
  const statuses: Record<string, number> = {}
  const problems: string[] = []

  /** Sends a batch until it is acknowledged (a 503 is sent again, same ids, to the next replica). */
  async function deliver(replica: number, events: SentEvent[], async = false): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await post((replica + attempt) % replicas.length, events, async)
      statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1
      if (r.status === 201 || r.status === 202) {
        if (r.ids.join() !== events.map((e) => e.id).join()) problems.push(`replica ${replica} answered other ids than it was sent`)
        for (const e of events) acked.set(e.id, e)
        return
      }
      if (r.status !== 503) {
        problems.push(`replica ${(replica + attempt) % replicas.length} answered ${r.status} to a batch of ${events.length}`)
        return
      }
      await sleep(Math.min(1000, r.retryAfter * 100))
    }
    problems.push(`a batch of ${events.length} was never acknowledged`)
  }

  /** Waits until the newest checkpoint is signed (the signers run every second). */
  async function allSigned(): Promise<{ seq: number; signed: number }> {
    let head = { seq: 0, signed: -1 }
    for (let i = 0; i < 60 && head.seq !== head.signed; i++) {
      await sleep(100)
      const [h] = (await pool.query<{ seq: number; signed: number }>(`select (h->>'seq')::int as seq, coalesce((h->>'signed_seq')::int, 0) as signed from public.audit_trail_head() h`)).rows
      head = h ?? head
    }
    expect(head.signed).toBe(head.seq)
    return head
  }

  it('ingests through all three at once: every acknowledged event is written once and unaltered, the trail verifies, retention runs once, each checkpoint is signed once', async () => {
    const t0 = performance.now()
    // 1. unique batches from two senders per replica, every fourth fire-and-forget (202), until
    //    a second after the retention tick: the run deletes while the replicas write
    const unique = async (replica: number, sender: number) => {
      for (let b = 0; b < 12 || (b < 30 && Date.now() < tickAt + 1000); b++) {
        await deliver(replica, makeEvents(`unique-${replica}-${sender}`, 100), b % 4 === 3)
        // paced to end a second after the tick, whatever this machine's speed
        if (b >= 11) await sleep(Math.max(0, (tickAt + 1000 - Date.now()) / (30 - b)))
      }
    }
    // 2. the same batch to two replicas at the same moment (every third to all three)
    const races = async () => {
      for (let b = 0; b < 30; b++) {
        const events = makeEvents('race', 50)
        const targets = b % 3 === 2 ? [0, 1, 2] : [b % 3, (b + 1) % 3]
        await Promise.all(targets.map((r) => deliver(r, events)))
      }
    }
    // 3. the same events in opposite orders on two replicas at once
    const crossed = async () => {
      for (let b = 0; b < 10; b++) {
        const p = makeEvents('crossed', 200)
        const q = makeEvents('crossed', 200)
        await Promise.all([deliver(b % 3, [...p, ...q]), deliver((b + 1) % 3, [...q, ...p])])
      }
    }
    await Promise.all([...[0, 1, 2].flatMap((r) => [unique(r, 0), unique(r, 1)]), races(), crossed()])
    const loadMs = performance.now() - t0
    expect(problems).toEqual([])

    // every replica's queue empties (the 202s are written)
    for (const r of replicas) {
      let depth = -1
      for (let i = 0; i < 100 && depth !== 0; i++) {
        const h = (await (await fetch(`${r.url}health`)).json()) as { queue?: { queueDepth: number } }
        depth = h.queue?.queueDepth ?? -1
        if (depth !== 0) await sleep(100)
      }
      expect(depth).toBe(0)
    }

    // 4. the retention tick: one run for the three replicas
    while (Date.now() < tickAt + 500) await sleep(100)
    const retentionRuns = async () =>
      (await pool.query<{ extra_info: { total: number }; result: string; message: string }>(`select extra_info, result, message from public.audit_events where operation_type = 'audit_retention'`)).rows
    for (let i = 0; i < 100; i++) {
      const agedLeft = (await pool.query<{ n: number }>(`select count(*)::int as n from public.audit_events where operation_type = 'aged'`)).rows[0]?.n
      if ((await retentionRuns()).length > 0 && agedLeft === 0) break
      await sleep(100)
    }
    // the replicas that lost the race skip silently; one that fired late would have found the run's event: wait a little for either
    await sleep(1500)
    const runs = await retentionRuns()
    expect(runs).toHaveLength(1)
    expect(runs[0]?.extra_info.total, JSON.stringify(runs[0])).toBe(AGED)
    for (const r of replicas) expect(r.output()).not.toContain('scheduled retention run failed')

    // every checkpoint so far signed: no replica's signer has anything in hand when one is killed below
    await allSigned()
    await sleep(300)

    // 5. a batch whose write waits in the database when its replica is killed, then re-sent to another replica
    const lock = await pool.connect()
    const resent = makeEvents('killed-mid-request', 200)
    let killedAnswer: Promise<{ status: number | string }> | undefined
    let killedXids: string[]
    try {
      // the chain's head: every write's trigger waits for it, after its rows are in
      await lock.query('begin')
      await lock.query('select 1 from audit_private.trail_head for update')
      killedAnswer = post(2, resent)
      let waiting: { xid: string }[] = []
      for (let i = 0; i < 100 && waiting.length === 0; i++) {
        await sleep(50)
        waiting = (
          await pool.query<{ xid: string }>(
            `select backend_xid::text as xid from pg_stat_activity where datname = current_database() and application_name = 'audit-events' and wait_event_type = 'Lock' and query ilike 'copy%'`,
          )
        ).rows
      }
      expect(waiting).toHaveLength(1)
      killedXids = waiting.map((w) => w.xid)
      replicas[2]!.signal('SIGKILL')
      await replicas[2]!.exited
      const first = await killedAnswer
      expect(typeof first.status).toBe('string') // no answer: the client cannot know whether it was written
      const again = deliver(0, resent)
      await sleep(300)
      await lock.query('commit')
      await again
    } finally {
      lock.release(true) // a failure above may leave the transaction open: never reuse it
    }
    replicas.splice(2, 1)
    expect(problems).toEqual([])
    // whether the dead replica's transaction committed once the lock was free (then the re-send wrote nothing) or not
    const [{ committed } = { committed: false }] = (await pool.query<{ committed: boolean }>('select bool_or(xmin::text = any($2::text[])) as committed from public.audit_events where id = any($1::uuid[])', [resent.map((e) => e.id), killedXids])).rows

    // 6. exactly once, unaltered
    const ids = [...acked.keys()]
    const rows = (
      await pool.query<{ id: string; n: number; timestamp: string; e: Omit<SentEvent, 'id' | 'timestamp'> }>(
        `select id::text as id, count(*) over (partition by id)::int as n,
                to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as timestamp,
                jsonb_build_object('source', source, 'operation_type', operation_type, 'result', result, 'severity', severity,
                                   'message', message, 'tenant_id', tenant_id, 'extra_info', extra_info) as e
         from public.audit_events where source = $1`,
        [SOURCE],
      )
    ).rows
    const byId = new Map(rows.map((r) => [r.id, r]))
    const duplicated = rows.filter((r) => r.n > 1).length
    const missing = ids.filter((id) => !byId.has(id))
    const altered = ids.filter((id) => {
      const row = byId.get(id)
      const { id: _id, timestamp, ...rest } = acked.get(id) as SentEvent
      return row && (row.timestamp !== timestamp || JSON.stringify(sortKeys(row.e)) !== JSON.stringify(sortKeys(rest)))
    })
    expect({ duplicated, missing: missing.length, altered: altered.length, unexpected: rows.filter((r) => !acked.has(r.id)).length }).toEqual({ duplicated: 0, missing: 0, altered: 0, unexpected: 0 })
    expect(rows).toHaveLength(acked.size)

    // 7. the chain: seq 1..n with no gap, each linked to the one before, and it accounts for every row
    const [chain] = (
      await pool.query<{ n: number; lo: number; hi: number; broken: number; inserted: number; deleted: number; rows: number }>(`
        select count(*)::int as n, min(seq)::int as lo, max(seq)::int as hi,
               (select count(*)::int from public.audit_checkpoints c join public.audit_checkpoints p on p.seq = c.seq - 1 where c.prev_hash <> p.hash) as broken,
               coalesce(sum(count) filter (where kind = 'insert'), 0)::int as inserted,
               coalesce(sum(count) filter (where kind = 'delete'), 0)::int as deleted,
               (select count(*)::int from public.audit_events) as rows
        from public.audit_checkpoints`)
    ).rows
    expect(chain).toMatchObject({ lo: 1, hi: chain?.n, broken: 0 })
    expect((chain?.inserted ?? 0) - (chain?.deleted ?? 0)).toBe(chain?.rows)

    // 8. each checkpoint signed once, by one replica, which alone published it (the killed one's file counts too)
    const head = await allSigned()
    const signedRows = (await pool.query<{ seq: number }>('select seq::int as seq from public.audit_signed_checkpoints order by seq')).rows.map((r) => r.seq)
    const published = checkpointDirs.map((d) => {
      try {
        return readFileSync(path.join(d, 'signed-checkpoints.ndjson'), 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq)
      } catch {
        return []
      }
    })
    const all = published.flat().sort((a, b) => a - b)
    expect(all).toEqual(signedRows)
    expect(new Set(all).size).toBe(all.length)

    // 9. the service's own check of the whole trail, signatures included
    const verify = await fetch(`${replicas[0]!.url}api/v1/audit/verify`, { headers: { authorization: `Bearer ${KEY}` } })
    expect(verify.status).toBe(200)
    const report = (await verify.json()) as { intact: boolean; events: number; deleted: number; problems: unknown[]; last_signed: { seq: number; verified: boolean | null } | null }
    expect(report.problems).toEqual([])
    expect(report.intact).toBe(true)
    expect(report.events).toBe(chain?.rows)
    expect(report.deleted).toBe(AGED)
    expect(report.last_signed).toMatchObject({ seq: head.seq, verified: true })

    // the crossed batches wait for each other at the primary key in the same (id) order: no deadlock to break
    const [{ deadlocks } = { deadlocks: -1 }] = (await pool.query<{ deadlocks: number }>('select deadlocks::int as deadlocks from pg_stat_database where datname = current_database()')).rows
    expect(deadlocks).toBe(0)
    const seconds = loadMs / 1000
    console.log(
      `replicas: ${acked.size} distinct events acknowledged through 3 replicas in ${seconds.toFixed(1)} s (paced to the tick: not a rate; see bench/replicas.ts); ` +
        `statuses ${JSON.stringify(statuses)}; ${chain?.n} checkpoints, ${signedRows.length} signed (by replica: ${published.map((p) => p.length).join('/')}); retention deleted ${runs[0]?.extra_info.total}; ${deadlocks} deadlocks; the killed replica's write ${committed ? 'committed after its death, the re-send wrote nothing' : 'did not commit, the re-send wrote it'}`,
    )
  }, 120_000)
})

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]))
  return v
}
