import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { sha256Hex } from './leaf.ts'
import { utcMicros } from './timestamp.ts'

/** A checkpoint as the chain records it (audit_trail_checkpoints, one line of the checkpoints export). */
export interface Checkpoint {
  seq: number
  kind: 'insert' | 'delete' | 'erase'
  created_at: string
  prev_hash: string
  root: string
  count: number
  ids: string[]
  /** The 32-byte leaves in ids order, as hex (erase: the erasure's leaf). */
  leaves: string
  /** erase: the erased fields' commitments. */
  detail: { fields?: Record<string, string> } | null
  reason: string | null
  hash: string
}

/** A signature over a checkpoint, made outside the database (audit_signed_checkpoints, the published NDJSON). */
export interface SignedCheckpoint {
  seq: number
  hash: string
  signed_at: string
  key_id: string
  /** Ed25519 over {@link signedMessage}, base64. */
  signature: string
}

/** The bytes an Ed25519 signature covers. */
export function signedMessage(s: Pick<SignedCheckpoint, 'seq' | 'hash' | 'signed_at' | 'key_id'>): Buffer {
  return Buffer.from(`audit-events checkpoint v1\nseq ${s.seq}\nhash ${s.hash}\nsigned_at ${s.signed_at}\nkey_id ${s.key_id}\n`)
}

/** A checkpoint's hash: sha256 of `seq|kind|prev_hash|root|count|reason`, as the database makes it. */
export function checkpointHash(c: Pick<Checkpoint, 'seq' | 'kind' | 'prev_hash' | 'root' | 'count' | 'reason'>): string {
  return sha256Hex([c.seq, c.kind, c.prev_hash, c.root, c.count, c.reason ?? ''].join('|'))
}

/** A short name of a public key: the first 16 hex digits of the sha256 of its DER (SPKI) form. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return sha256Hex(pub.export({ type: 'spki', format: 'der' })).slice(0, 16)
}

/**
 * A key given as a PEM file's path, PEM text, or base64 of PEM or DER
 * (AUDIT_SIGNING_KEY, `--public-key`). Private keys are PKCS#8, public keys SPKI.
 */
export function loadKey(spec: string, type: 'private' | 'public'): KeyObject {
  const make = type === 'private' ? createPrivateKey : createPublicKey
  const text = spec.trim()
  if (text.startsWith('-----BEGIN')) return make(text)
  if (existsSync(text)) {
    const file = readFileSync(text, 'utf8')
    return type === 'public' && file.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(file)) : make(file)
  }
  const raw = Buffer.from(text, 'base64')
  const asText = raw.toString('utf8')
  if (asText.startsWith('-----BEGIN')) return type === 'public' && asText.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(asText)) : make(asText)
  return type === 'private' ? createPrivateKey({ key: raw, format: 'der', type: 'pkcs8' }) : createPublicKey({ key: raw, format: 'der', type: 'spki' })
}

/** Signs a checkpoint with an Ed25519 private key. */
export function signCheckpoint(c: Pick<Checkpoint, 'seq' | 'hash'>, key: KeyObject, signedAt = new Date()): SignedCheckpoint {
  // microseconds, as the database prints the time back
  const unsigned = { seq: c.seq, hash: c.hash, signed_at: utcMicros(signedAt.toISOString()) ?? signedAt.toISOString(), key_id: keyId(key) }
  return { ...unsigned, signature: sign(null, signedMessage(unsigned), key).toString('base64') }
}

/** True when the signature is the given public key's over the signed checkpoint. */
export function signatureValid(s: SignedCheckpoint, key: KeyObject): boolean {
  try {
    return verify(null, signedMessage(s), key, Buffer.from(s.signature, 'base64'))
  } catch {
    return false
  }
}
