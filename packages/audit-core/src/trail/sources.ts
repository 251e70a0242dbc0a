import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { AuditEvent } from '../schema/event.ts'
import { loadDriver } from '../stores/driver.ts'
import { toAuditEvent, type AuditStore, type TrailStore } from '../stores/store.ts'
import type { Checkpoint, SignedCheckpoint } from './signing.ts'

/** The JSON values of an NDJSON file, a line at a time (blank lines skipped). */
export async function* ndjsonLines(file: string): AsyncGenerator<Record<string, unknown>> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })
  let n = 0
  for await (const line of lines) {
    n++
    if (!line.trim()) continue
    try {
      yield JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new Error(`${file}, line ${n}: not JSON`)
    }
  }
}

/** The events of an export (`GET /api/v1/audit/events/export?format=ndjson`). */
export async function* exportedEvents(file: string): AsyncGenerator<AuditEvent> {
  for await (const row of ndjsonLines(file)) yield toAuditEvent(row)
}

/** A signed checkpoint line (it carries a signature) or a checkpoint line. */
export function isSignedLine(row: Record<string, unknown>): boolean {
  return typeof row.signature === 'string'
}

/**
 * A checkpoints file (`GET /api/v1/audit/trail/checkpoints`, or a published
 * AUDIT_CHECKPOINT_DIR file): checkpoint lines and signed checkpoint lines.
 */
export async function readCheckpointsFile(file: string): Promise<{ checkpoints: Checkpoint[]; signatures: SignedCheckpoint[] }> {
  const checkpoints: Checkpoint[] = []
  const signatures: SignedCheckpoint[] = []
  for await (const row of ndjsonLines(file)) {
    if (isSignedLine(row)) signatures.push(row as unknown as SignedCheckpoint)
    else checkpoints.push(row as unknown as Checkpoint)
  }
  return { checkpoints, signatures }
}

/** What reading a trail needs from a connection (a node-postgres Client or PoolClient). */
export interface TrailQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}

/**
 * A trail read from a database connection, as the verifier takes it:
 * checkpoints and signatures at once, events streamed in id order.
 */
export async function readDatabaseTrail(client: TrailQueryable) {
  const checkpoints: Checkpoint[] = []
  for (let after = 0; ; ) {
    const page = (await client.query('select c from public.audit_trail_checkpoints($1, 10000) c', [after])).rows.map((r) => r.c as Checkpoint)
    checkpoints.push(...page)
    const lastOne = page.at(-1)
    if (page.length < 10000 || !lastOne) break
    after = lastOne.seq
  }
  const signatures = (await client.query('select s from public.audit_trail_signatures() s')).rows.map((r) => r.s as SignedCheckpoint)
  async function* events(): AsyncGenerator<AuditEvent> {
    let after: string | null = null
    for (;;) {
      const { rows } = await client.query(
        'select to_json(e)::text as e from public.audit_events e where $1::uuid is null or e.id > $1::uuid order by e.id limit 10000',
        [after],
      )
      let lastId: string | null = null
      for (const r of rows) {
        const e = toAuditEvent(JSON.parse(r.e as string) as Record<string, unknown>)
        lastId = e.id
        yield e
      }
      if (rows.length < 10000 || lastId === null) return
      after = lastId
    }
  }
  return { checkpoints, signatures, events: events() }
}

/** {@link readDatabaseTrail} on a connection of its own to `databaseUrl` (node-postgres); close it when done. */
export async function openDatabaseTrail(databaseUrl: string) {
  const pg = await loadDriver('pg', 'audit-events verify --database-url', async () => (await import('pg')).default)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return { ...(await readDatabaseTrail(client)), close: () => client.end() }
  } catch (e) {
    await client.end()
    throw e
  }
}

/** Every checkpoint of a store, in seq order. */
export async function storeCheckpoints(trail: TrailStore): Promise<Checkpoint[]> {
  const all: Checkpoint[] = []
  for (let after = 0; ; ) {
    const page = await trail.checkpoints(after, 10000)
    all.push(...page)
    const lastOne = page.at(-1)
    if (page.length < 10000 || !lastOne) return all
    after = lastOne.seq
  }
}

/**
 * A store's trail as the verifier takes it: the events through the same
 * pages as the NDJSON export, so the API's check reads what an auditor's
 * export holds.
 */
export async function readStoreTrail(store: AuditStore, trail: TrailStore) {
  const [checkpoints, signatures] = await Promise.all([storeCheckpoints(trail), trail.signatures()])
  const chunk = Math.min(1000, store.maxPageSize ?? 1000)
  async function* events(): AsyncGenerator<AuditEvent> {
    let after: string | undefined
    for (;;) {
      const page = await store.queryEvents({ filters: {}, limit: chunk, order: 'asc', withTotal: false, ...(after ? { after } : {}) })
      yield* page.events
      after = page.events.at(-1)?.id
      if (page.events.length < chunk || !after) return
    }
  }
  return { checkpoints, signatures, events: events() }
}
