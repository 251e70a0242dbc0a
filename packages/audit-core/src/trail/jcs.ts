/**
 * RFC 8785 (JSON Canonicalization Scheme) for values as JSON.parse returns
 * them: object keys sorted by UTF-16 code units, no whitespace, strings and
 * numbers as ECMAScript's JSON.stringify prints them. The database's
 * `audit_private.jcs` gives the same bytes for the jsonb it stores (numbers
 * are committed as the IEEE 754 double a JSON reader sees, as RFC 8785 says).
 *
 * @example
 * jcs({ b: 1, a: [1.0, 'é'] }) // '{"a":[1,"é"],"b":1}'
 */
export function jcs(v: unknown): string {
  // undefined (and functions) as JSON.stringify prints them inside an array
  if (v === null || typeof v !== 'object') return JSON.stringify(v) || 'null'
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`
  const o = v as Record<string, unknown>
  let out = ''
  // Array.prototype.sort compares strings by UTF-16 code units, as RFC 8785 section 3.2.3 asks
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue
    out += `${out ? ',' : ''}${JSON.stringify(k)}:${jcs(o[k])}`
  }
  return `{${out}}`
}
