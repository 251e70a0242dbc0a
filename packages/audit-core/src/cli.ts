import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadKey, type SignedCheckpoint } from './trail/signing.ts'
import { exportedEvents, openDatabaseTrail, readCheckpointsFile } from './trail/sources.ts'
import { verifyTrail, type TrailReport } from './trail/verify.ts'

const USAGE = `Usage:
  audit-events verify --database-url <url> [--public-key <key.pem>] [--signed <file|dir>]... [--json]
  audit-events verify --file <export.ndjson> --checkpoints <checkpoints.ndjson> [--public-key <key.pem>] [--signed <file|dir>]... [--json]

Checks that the audit trail is complete and unaltered, offline. Exit 0 when
intact, 1 when it is not, 2 on a usage or input error.
  --public-key   Ed25519 public key (PEM file, PEM text or base64) that verifies the signed checkpoints
  --signed       published signed checkpoints (AUDIT_CHECKPOINT_DIR or one of its NDJSON files), beside those in the input
  --json         print the report as JSON`

/** `audit-events verify …`: returns the exit code. */
export async function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  let args
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'database-url': { type: 'string' },
        file: { type: 'string' },
        checkpoints: { type: 'string' },
        'public-key': { type: 'string' },
        signed: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (e) {
    err(`${(e as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = args
  if (values.help) {
    out(USAGE)
    return 0
  }
  const db = values['database-url']
  const { file, checkpoints: checkpointsFile } = values
  if (positionals[0] !== 'verify' || positionals.length > 1 || (db ? file || checkpointsFile : !file || !checkpointsFile)) {
    err(USAGE)
    return 2
  }
  try {
    const publicKey = values['public-key'] ? loadKey(values['public-key'], 'public') : undefined
    const published = await readSigned(values.signed ?? [])
    let report: TrailReport
    if (db) {
      const trail = await openDatabaseTrail(db)
      try {
        report = await verifyTrail({ checkpoints: trail.checkpoints, signatures: [...trail.signatures, ...published], events: trail.events, publicKey })
      } finally {
        await trail.close()
      }
    } else if (file && checkpointsFile) {
      const { checkpoints, signatures } = await readCheckpointsFile(checkpointsFile)
      report = await verifyTrail({ checkpoints, signatures: [...signatures, ...published], events: exportedEvents(file), publicKey })
    } else return 2
    out(values.json ? JSON.stringify(report, null, 2) : describe(report, Boolean(publicKey)))
    return report.intact ? 0 : 1
  } catch (e) {
    err(`audit-events verify: ${(e as Error).message}`)
    return 2
  }
}

async function readSigned(specs: string[]): Promise<SignedCheckpoint[]> {
  const files = specs.flatMap((p) =>
    statSync(p).isDirectory() ? readdirSync(p).filter((n) => n.endsWith('.ndjson')).sort().map((n) => path.join(p, n)) : [p],
  )
  const all: SignedCheckpoint[] = []
  for (const f of files) all.push(...(await readCheckpointsFile(f)).signatures)
  return all
}

/** The report as an auditor reads it. */
export function describe(r: TrailReport, keyGiven: boolean): string {
  const lines = [
    `${r.intact ? 'INTACT' : 'BROKEN'}: ${r.events} events, ${r.checkpoints} checkpoints (${r.deleted} events removed by recorded deletions, ${r.erased} with erased fields) checked in ${r.duration_ms} ms`,
    r.last_checkpoint ? `last checkpoint: ${r.last_checkpoint.seq} ${r.last_checkpoint.hash} at ${r.last_checkpoint.created_at}` : 'last checkpoint: none',
    r.last_signed
      ? `last signed checkpoint: ${r.last_signed.seq} signed at ${r.last_signed.signed_at} by key ${r.last_signed.key_id}${r.last_signed.verified ? ' (signature verified)' : keyGiven ? '' : ' (signature not checked: no --public-key)'}`
      : 'last signed checkpoint: none',
  ]
  const [first, ...rest] = r.problems
  if (first) {
    lines.push(`first break: ${first.kind} at checkpoint ${first.seq ?? '-'}${first.position !== undefined ? `, position ${first.position}` : ''}${first.id ? `, event ${first.id}` : ''}`)
    lines.push(`  ${first.message}`)
    for (const p of rest) lines.push(`also: ${p.kind}: ${p.message}`)
  }
  return lines.join('\n')
}
