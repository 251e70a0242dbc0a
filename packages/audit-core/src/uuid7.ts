import { randomFillSync } from 'node:crypto'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
// Random bytes drawn 4 KiB at a time: one system call per 256 ids, not one per id.
const pool = Buffer.allocUnsafe(4096)
let at = pool.length
let lastMs = -Infinity
let seq = 0

/**
 * A new UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 32-bit counter
 * that starts at a random value each millisecond and counts up within it
 * (method 1 of section 6.2), then random bits. Ids made by one process sort
 * in the order they were made, so events logged in the same millisecond
 * keep their order.
 *
 * @example
 * newEventId() // '019ab0c4-5f1e-7a3c-9d2e-4b1f0c8e7a55'
 */
export function newEventId(): string {
  const now = Date.now()
  if (at + 16 > pool.length) {
    randomFillSync(pool)
    at = 0
  }
  const r = at
  at += 16
  if (now > lastMs) {
    lastMs = now
    seq = pool.readUInt32BE(r) & 0x7fffffff // the top bit clear: room to count up
  } else if (++seq > 0xffffffff) {
    lastMs++ // 2^31 ids in one millisecond: borrow the next one, as RFC 9562 allows
    seq = 0
  }
  const ms = lastMs
  const hi = Math.floor(ms / 0x10000)
  return (
    HEX[(hi / 0x1000000) & 0xff]! +
    HEX[(hi / 0x10000) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    '-' +
    HEX[(ms >>> 8) & 0xff]! +
    HEX[ms & 0xff]! +
    '-' +
    HEX[0x70 | ((seq >>> 28) & 0x0f)]! +
    HEX[(seq >>> 20) & 0xff]! +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)]! +
    HEX[(seq >>> 6) & 0xff]! +
    '-' +
    HEX[((seq << 2) & 0xfc) | (pool[r + 4]! & 0x03)]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  )
}

/**
 * The time a UUIDv7 was made (its first 48 bits, Unix ms), or null for any
 * other id.
 *
 * @example
 * uuid7Time('019ab0c4-5f1e-7a3c-9d2e-4b1f0c8e7a55') // 1763902250782
 */
export function uuid7Time(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}
