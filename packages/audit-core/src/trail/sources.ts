import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { AuditEvent } from '../schema/event.ts'
import { loadDriver } from '../stores/driver.ts'
import { toAuditEvent } from '../stores/store.ts'
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

/** A trail read straight from a database (node-postgres), as the verifier takes it. */
export async function openDatabaseTrail(databaseUrl: string) {
  const pg = await loadDriver('pg', 'audit-events verify --database-url', async () => (await import('pg')).default)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const checkpoints: Checkpoint[] = []
  for (let after = 0; ; ) {
    const page = (await client.query<{ c: Checkpoint }>('select c from public.audit_trail_checkpoints($1, 10000) c', [after])).rows.map((r) => r.c)
    checkpoints.push(...page)
    if (page.length < 10000) break
    after = page.at(-1)!.seq
  }
  const signatures = (await client.query<{ s: SignedCheckpoint }>('select s from public.audit_trail_signatures() s')).rows.map((r) => r.s)
  async function* events(): AsyncGenerator<AuditEvent> {
    let after: string | null = null
    for (;;) {
      const { rows }: { rows: { e: string }[] } = await client.query<{ e: string }>(
        'select to_json(e)::text as e from public.audit_events e where $1::uuid is null or e.id > $1::uuid order by e.id limit 10000',
        [after],
      )
      for (const r of rows) yield toAuditEvent(JSON.parse(r.e) as Record<string, unknown>)
      if (rows.length < 10000) return
      after = (JSON.parse(rows.at(-1)!.e) as { id: string }).id
    }
  }
  return { checkpoints, signatures, events: events(), close: () => client.end() }
}
