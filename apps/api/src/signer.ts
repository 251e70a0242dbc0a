import type { KeyObject } from 'node:crypto'
import { appendFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { signCheckpoint, type SignedCheckpoint, type TrailStore } from '@audit/core'
import type pino from 'pino'

export interface SignerOptions {
  trail: TrailStore
  key: KeyObject
  /** AUDIT_CHECKPOINT_SIGN_INTERVAL in ms (default 60 s). */
  intervalMs: number
  /** AUDIT_CHECKPOINT_DIR: signed checkpoints are appended to `signed-checkpoints.ndjson` there. */
  dir?: string | undefined
  log: pino.Logger
}

/** The file of a checkpoint directory that signed checkpoints are appended to. */
export const SIGNED_FILE = 'signed-checkpoints.ndjson'

/**
 * Signs the newest checkpoint when something was written since the last
 * signature, and publishes it where the database owner cannot rewrite it:
 * one JSON line appended to AUDIT_CHECKPOINT_DIR, and one log line (for a
 * log shipper). Replicas race harmlessly: the database records the first
 * signature of a checkpoint (advisory lock, one row per seq) and only the
 * replica whose call recorded it publishes. Resolves to what it signed, or null.
 */
export async function signLatest(opts: SignerOptions): Promise<SignedCheckpoint | null> {
  const head = await opts.trail.head()
  if (head.seq === 0 || head.seq === head.signed_seq) return null
  const signed = signCheckpoint(head, opts.key)
  if (!(await opts.trail.recordSignature(signed))) return null
  if (opts.dir) {
    await mkdir(opts.dir, { recursive: true })
    await appendFile(path.join(opts.dir, SIGNED_FILE), `${JSON.stringify(signed)}\n`)
  }
  opts.log.info({ signed_checkpoint: signed }, `signed checkpoint ${signed.seq}`)
  return signed
}

/** Runs {@link signLatest} every `intervalMs` (timer unref'd); returns a function that stops it. */
export function startSigner(opts: SignerOptions): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    signLatest(opts)
      .catch((err: unknown) => opts.log.warn({ err: (err as Error).message }, 'could not sign the newest checkpoint'))
      .finally(() => (running = false))
  }, opts.intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
