import { EXTRA_INFO_MAX_DEPTH } from './schema/model.ts'

/** Deeper than this is refused, as the column's rule refuses it; a cycle reaches it at once. */
export const SNAPSHOT_MAX_DEPTH = EXTRA_INFO_MAX_DEPTH

/**
 * A copy of `value` as JSON would carry it, taken now: the same result as
 * `JSON.parse(JSON.stringify(value))` (toJSON called, undefined, functions
 * and symbols left out of objects and null in arrays, non-finite numbers
 * null, boxed primitives unwrapped), without the round trip through text.
 * The caller may change or reuse `value` afterwards; the copy does not
 * follow. Throws on a BigInt, on a getter or toJSON that throws, and past
 * {@link SNAPSHOT_MAX_DEPTH} levels (which is also where a cycle ends up).
 *
 * @example
 * const info = { step: 1, at: new Date(0) }
 * const copy = jsonSnapshot(info) // { step: 1, at: '1970-01-01T00:00:00.000Z' }
 * info.step = 2 // copy.step is still 1
 */
export function jsonSnapshot(value: unknown): unknown {
  const v = copy(value, '', 0)
  return v === undefined ? null : v
}

function copy(value: unknown, key: string, depth: number): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key)
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : null
    case 'bigint':
      throw new TypeError('a BigInt cannot be stored as JSON')
    case 'object':
      break
    default:
      return undefined // undefined, a function or a symbol: JSON leaves it out
  }
  if (value === null) return null
  if (depth >= SNAPSHOT_MAX_DEPTH) throw new RangeError(`extra_info is nested deeper than ${SNAPSHOT_MAX_DEPTH} levels, or refers to itself`)
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const v = copy(value[i], String(i), depth + 1)
      out[i] = v === undefined ? null : v
    }
    return out
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return copy(value.valueOf(), key, depth)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = copy((value as Record<string, unknown>)[k], k, depth + 1)
    if (v === undefined) continue
    // a "__proto__" key is data, as JSON.parse makes it, not the prototype
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    else out[k] = v
  }
  return out
}
