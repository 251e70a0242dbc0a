import type { KeyObject } from 'node:crypto'
import type { AuditEvent } from '../schema/event.ts'
import { jcs } from './jcs.ts'
import { ERASABLE_FIELDS, leafOf, sha256Hex } from './leaf.ts'
import { checkpointHash, keyId, signatureValid, type Checkpoint, type SignedCheckpoint } from './signing.ts'

/** What can be wrong with a trail, each at a position (checkpoint seq, index in its batch, event id). */
export type TrailProblemKind =
  | 'altered_row' // a row's content is not what its checkpoint committed to
  | 'removed_row' // a committed row is gone, and no delete checkpoint removed it
  | 'unrecorded_row' // a row no checkpoint covers (written around the trail)
  | 'unauthorised_deletion' // a delete that went around the sanctioned delete functions
  | 'removed_batch' // checkpoints missing from the chain
  | 'broken_link' // a checkpoint does not follow the one before it (reordered, replaced)
  | 'altered_checkpoint' // a checkpoint's fields do not give its hash or root
  | 'truncated_tail' // the chain ends before a checkpoint that was signed
  | 'rewritten_history' // the chain's checkpoint differs from the signed one
  | 'bad_signature' // a signature the public key does not verify

export interface TrailProblem {
  kind: TrailProblemKind
  /** The checkpoint where the trail breaks; null for a row no checkpoint covers. */
  seq: number | null
  /** The row's index in its checkpoint's batch (ids sorted), when the problem is a row. */
  position?: number
  id?: string
  message: string
}

export interface TrailReport {
  intact: boolean
  events: number
  checkpoints: number
  /** Rows removed by authorised delete checkpoints (retention, purge). */
  deleted: number
  /** Events with erased fields. */
  erased: number
  last_checkpoint: { seq: number; hash: string; created_at: string } | null
  /** The newest signature, and whether the public key verified it (null: no key given). */
  last_signed: { seq: number; hash: string; signed_at: string; key_id: string; verified: boolean | null } | null
  /** The first problems in trail order (at most 20); empty when intact. */
  problems: TrailProblem[]
  duration_ms: number
}

export interface TrailInput {
  /** Every checkpoint, in the order the chain holds them (seq order). */
  checkpoints: Iterable<Checkpoint> | AsyncIterable<Checkpoint>
  /** Signed checkpoints (the database's table, published copies: any order, duplicates allowed). */
  signatures: Iterable<SignedCheckpoint>
  /** Every event of the trail, in any order (the NDJSON export, or the database). */
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>
  /** Verifies the signatures when given; without it they are only compared with the chain. */
  publicKey?: KeyObject
}

const ZERO = '0'.repeat(64)

/** A committed row: where its checkpoint put it, its leaf, and whether the events held it. */
interface Committed {
  seq: number
  pos: number
  leaf: string
  seen: boolean
}
const MAX_PROBLEMS = 20

/**
 * Checks a trail offline: the checkpoint chain (links, hashes, roots), every
 * row against the leaf its checkpoint committed to, deletions and erasures
 * against their own checkpoints, and the chain against the signed
 * checkpoints (signature, and that the chain still reaches each of them).
 *
 * @example
 * const report = await verifyTrail({ checkpoints, signatures, events, publicKey })
 * if (!report.intact) console.error(report.problems[0])
 */
export async function verifyTrail(input: TrailInput): Promise<TrailReport> {
  const t0 = performance.now()
  const problems: TrailProblem[] = []
  const problem = (p: TrailProblem) => problems.push(p)

  // committed rows, by global index
  const index = new Map<string, Committed>()
  const deletedLeaf = new Map<string, string>()
  const deletedAt = new Map<string, number>()
  const erasures = new Map<string, Record<string, string>>()
  const chainHash = new Map<number, string>()

  let prev = ZERO
  let expect = 1
  let count = 0
  let last: Checkpoint | null = null
  for await (const c of input.checkpoints) {
    count++
    if (c.seq !== expect) {
      problem(
        c.seq > expect
          ? { kind: 'removed_batch', seq: expect, message: `checkpoint${c.seq - expect > 1 ? `s ${expect}..${c.seq - 1} are` : ` ${expect} is`} missing: the chain jumps from ${expect - 1} to ${c.seq}` }
          : { kind: 'broken_link', seq: c.seq, message: `checkpoint ${c.seq} comes after checkpoint ${expect - 1}: the chain is out of order` },
      )
    } else if (c.prev_hash !== prev) {
      problem({ kind: 'broken_link', seq: c.seq, message: `checkpoint ${c.seq} does not follow checkpoint ${c.seq - 1}: prev_hash ${short(c.prev_hash)} ≠ ${short(prev)}` })
    }
    if (checkpointHash(c) !== c.hash) {
      problem({ kind: 'altered_checkpoint', seq: c.seq, message: `checkpoint ${c.seq} was altered: its fields do not give its hash ${short(c.hash)}` })
    }
    const leaves = Buffer.from(c.leaves, 'hex')
    if (sha256Hex(leaves) !== c.root || c.ids.length !== c.count) {
      problem({ kind: 'altered_checkpoint', seq: c.seq, message: `checkpoint ${c.seq} was altered: its leaves or ids do not give its root ${short(c.root)} and count ${c.count}` })
    }
    const leafAt = (i: number) => leaves.subarray(i * 32, i * 32 + 32).toString('hex')
    if (c.kind === 'insert') {
      c.ids.forEach((id, i) => {
        if (index.has(id)) problem({ kind: 'altered_checkpoint', seq: c.seq, position: i, id, message: `checkpoint ${c.seq} commits event ${id} a second time` })
        index.set(id, { seq: c.seq, pos: i, leaf: leafAt(i), seen: false })
      })
    } else if (c.kind === 'delete') {
      if (c.reason?.startsWith('unauthorised')) {
        problem({ kind: 'unauthorised_deletion', seq: c.seq, message: `checkpoint ${c.seq}: ${c.count} event(s) deleted around the delete functions (${c.reason}), first ${c.ids[0]}` })
      }
      c.ids.forEach((id, i) => {
        deletedLeaf.set(id, leafAt(i))
        deletedAt.set(id, c.seq)
      })
    } else {
      const id = c.ids[0] ?? ''
      const fields = c.detail?.fields ?? {}
      if (sha256Hex(jcs({ fields, id })) !== leafAt(0)) {
        problem({ kind: 'altered_checkpoint', seq: c.seq, id, message: `checkpoint ${c.seq} was altered: its erased fields do not give its leaf` })
      }
      erasures.set(id, { ...erasures.get(id), ...fields })
    }
    chainHash.set(c.seq, c.hash)
    prev = c.hash
    expect = c.seq + 1
    last = c
  }

  // signatures: each must verify, and the chain must still hold what was signed
  const signed = [...new Map([...input.signatures].map((s) => [`${s.seq}:${s.signature}`, s])).values()].sort((a, b) => a.seq - b.seq)
  const ownKey = input.publicKey ? keyId(input.publicKey) : null
  let lastSigned: TrailReport['last_signed'] = null
  for (const s of signed) {
    const verified = input.publicKey ? s.key_id === ownKey && signatureValid(s, input.publicKey) : null
    if (verified === false) {
      problem({ kind: 'bad_signature', seq: s.seq, message: `the signature of checkpoint ${s.seq} (key ${s.key_id}, ${s.signed_at}) does not verify with the public key ${ownKey}` })
      continue
    }
    const held = chainHash.get(s.seq)
    if (held === undefined && s.seq > (last?.seq ?? 0)) {
      problem({ kind: 'truncated_tail', seq: (last?.seq ?? 0) + 1, message: `the trail ends at checkpoint ${last?.seq ?? 0}, but checkpoint ${s.seq} was signed at ${s.signed_at}: checkpoints ${(last?.seq ?? 0) + 1}..${s.seq} and their events were removed` })
    } else if (held !== s.hash) {
      problem({ kind: 'rewritten_history', seq: s.seq, message: `checkpoint ${s.seq} is not the one signed at ${s.signed_at}: hash ${short(held ?? 'none')} ≠ signed ${short(s.hash)} (the chain was rewritten at or before it)` })
    }
    lastSigned = { seq: s.seq, hash: s.hash, signed_at: s.signed_at, key_id: s.key_id, verified }
  }

  // rows
  let events = 0
  let line = 0
  for await (const e of input.events) {
    line++
    events++
    const erased = erasures.get(e.id)
    const row = index.get(e.id)
    if (row === undefined) {
      problem({ kind: 'unrecorded_row', seq: null, id: e.id, message: `event ${e.id} (row ${line} read) is in no checkpoint: it was written around the trail` })
      continue
    }
    const at = { seq: row.seq, position: row.pos, id: e.id }
    if (row.seen) {
      problem({ kind: 'altered_row', ...at, message: `event ${e.id} appears twice` })
      continue
    }
    row.seen = true
    const stillThere = erased ? ERASABLE_FIELDS.filter((f) => erased[f] !== undefined && e[f] != null) : []
    let leaf: string
    try {
      leaf = leafOf(e, erased)
    } catch (err) {
      leaf = (err as Error).message
    }
    if (leaf !== row.leaf || stillThere.length > 0) {
      problem({
        kind: 'altered_row',
        ...at,
        message: stillThere.length
          ? `event ${e.id} (checkpoint ${row.seq}, position ${row.pos}) has a value in erased field ${stillThere.join(', ')}`
          : `event ${e.id} (checkpoint ${row.seq}, position ${row.pos}) was altered: its leaf is not the one committed`,
      })
    }
  }
  let deleted = 0
  for (const [id, row] of index) {
    if (row.seen) continue
    const gone = deletedLeaf.get(id)
    const at = { seq: row.seq, position: row.pos, id }
    if (gone === undefined) {
      problem({ kind: 'removed_row', ...at, message: `event ${id} (checkpoint ${row.seq}, position ${row.pos}) is missing and no delete checkpoint removed it` })
    } else if (gone !== row.leaf) {
      problem({ kind: 'altered_row', ...at, message: `event ${id} (checkpoint ${row.seq}, position ${row.pos}) was altered before checkpoint ${deletedAt.get(id)} deleted it` })
    } else deleted++
  }

  problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || (a.position ?? -1) - (b.position ?? -1))
  return {
    intact: problems.length === 0,
    events,
    checkpoints: count,
    deleted,
    erased: erasures.size,
    last_checkpoint: last ? { seq: last.seq, hash: last.hash, created_at: last.created_at } : null,
    last_signed: lastSigned,
    problems: problems.slice(0, MAX_PROBLEMS),
    duration_ms: Math.round(performance.now() - t0),
  }
}

function short(h: string): string {
  return h.length > 16 ? `${h.slice(0, 12)}…` : h
}
