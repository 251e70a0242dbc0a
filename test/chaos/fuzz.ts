/**
 * Hostile requests generated from the service's own OpenAPI document: for
 * each operation, its query and path parameters and its request body
 * schema give the values to break (wrong types, boundary numbers, huge
 * strings, lone surrogates, NUL, years 0000 and 10000 and offsets past
 * them, impossible dates, deep nesting, unknown and repeated parameters,
 * bad JSON, wrong content types). Deterministic for a seed.
 */

/** A small fast seeded PRNG (mulberry32): the same seed gives the same requests. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

interface Schema {
  /** OpenAPI 3.1: a nullable value's type is a list with 'null' in it */
  type?: string | string[]
  format?: string
  enum?: unknown[]
  pattern?: string
  minimum?: number
  maximum?: number
  maxLength?: number
  anyOf?: Schema[]
  properties?: Record<string, Schema>
  required?: string[]
  $ref?: string
  nullable?: boolean
  example?: unknown
}

interface Param {
  name: string
  in: 'query' | 'path'
  required: boolean
  schema: Schema
}

export interface Operation {
  method: string
  /** OpenAPI path, e.g. /api/v1/audit/events/{id} */
  path: string
  params: Param[]
  /** The JSON body's schema with references resolved one level (the event input). */
  body?: Schema
}

/** The operations of an OpenAPI 3 document. */
export function operationsOf(doc: { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } }): Operation[] {
  const resolve = (s: Schema): Schema => (s.$ref ? (doc.components?.schemas?.[s.$ref.split('/').pop() as string] ?? {}) : s)
  const ops: Operation[] = []
  // the API's operations; /health and /metrics ignore parameters and take no input
  for (const [path, item] of Object.entries(doc.paths).filter(([path]) => path.startsWith('/api/'))) {
    for (const [method, op] of Object.entries(item)) {
      const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined
      const eventSchema = body?.anyOf?.map(resolve).find((s) => s.properties && !s.properties.events)
      ops.push({
        method: method.toUpperCase(),
        path,
        // the query and path parameters the fuzzer varies: not a header (X-Request-Id, a $ref), nor the
        // extra.<key> object (style form, explode), whose names the fuzzer makes up itself below
        params: (op.parameters ?? [])
          .filter((p: Param & { $ref?: string }) => !p.$ref && (p.in === 'query' || p.in === 'path') && p.schema.type !== 'object')
          .map((p: Param) => ({ name: p.name, in: p.in, required: p.required, schema: resolve(p.schema) })),
        ...(eventSchema ? { body: eventSchema } : body ? { body: resolve(body) } : {}),
      })
    }
  }
  return ops
}

/** One request; `refuse` says why a 2xx answer to it would be wrong (the value is one the service must refuse). */
export interface FuzzCase {
  op: string
  method: string
  /** Path and raw (already percent-encoded) query. */
  url: string
  headers: Record<string, string>
  body?: Uint8Array
  refuse?: string
  /** A POST of events: a 2xx must carry ids that end up in the database. */
  ingest: boolean
  /** Deletes or purges data: run after the acknowledged events were checked. */
  destructive: boolean
  /** What was done to the request, for a failure message. */
  what: string
}

const HUGE = 'a'.repeat(100_000)
const enc = encodeURIComponent

/** A value for the query string, already encoded as it goes on the wire; `refuse` when the service must not answer 2xx. */
interface QueryValue {
  raw: string
  refuse?: string
}

const TEXT_VALUES: QueryValue[] = [
  { raw: '' },
  { raw: 'a%00b', refuse: 'NUL in a filter' },
  { raw: '%00', refuse: 'NUL in a filter' },
  { raw: '%ED%A0%80' }, // a lone surrogate as UTF-8 bytes (invalid UTF-8)
  { raw: '%FF%FE' },
  { raw: '%' },
  { raw: '%zz' },
  { raw: enc(HUGE) },
  { raw: enc("' or 1=1 --") },
  { raw: enc('\\') },
  { raw: enc('😀') },
  { raw: '%0A%0D' },
  { raw: enc(',,,') },
  { raw: enc('a,b,,c') },
  { raw: enc('\u202e') },
  { raw: enc(' '.repeat(300)) },
  { raw: enc('%_') },
]

const DATE_VALUES: QueryValue[] = [
  { raw: '0000-01-01', refuse: 'year 0' },
  { raw: '10000-01-01', refuse: 'year 10000' },
  { raw: enc('+010000-01-01T00:00:00Z'), refuse: 'year 10000' },
  { raw: enc('-000001-01-01T00:00:00Z'), refuse: 'year -1' },
  { raw: enc('9999-12-31T23:59:59-23:59'), refuse: 'year 10000 after its offset' },
  { raw: enc('0001-01-01T00:30:00+01:00'), refuse: 'year 0 after its offset' },
  { raw: '2024-02-30', refuse: 'impossible date' },
  { raw: '2023-02-29', refuse: 'impossible date' },
  { raw: '2024-04-31', refuse: 'impossible date' },
  { raw: '2024-13-01', refuse: 'impossible date' },
  { raw: enc('2024-01-01T25:00:00Z'), refuse: 'impossible time' },
  { raw: '2024-02-29' },
  { raw: enc('2024-01-01T00:00:00.123456789Z') },
  { raw: enc('2024-12-31T23:59:60Z') },
  { raw: '1700000000' },
  { raw: 'now' },
  { raw: '' },
  { raw: enc(HUGE) },
  { raw: '2024-01-01%00', refuse: 'NUL in a filter' },
]

function intValues(s: Schema): QueryValue[] {
  const min = s.minimum ?? 0
  const max = s.maximum ?? 2 ** 31
  return [
    { raw: String(min - 1), refuse: `below the minimum ${min}` },
    { raw: String(min) },
    { raw: String(max) },
    { raw: String(max + 1), refuse: `above the maximum ${max}` },
    { raw: String(2 ** 31), refuse: `above the maximum ${max}` },
    { raw: '9007199254740993', refuse: `above the maximum ${max}` },
    { raw: '9'.repeat(400), refuse: `above the maximum ${max}` },
    { raw: '1.5', refuse: 'not an integer' },
    { raw: '1e3' },
    { raw: '0x10' },
    { raw: '%201' },
    { raw: 'NaN', refuse: 'not a number' },
    { raw: 'Infinity', refuse: 'not a number' },
    { raw: '-0' },
    { raw: '' },
    { raw: enc('١') },
    { raw: '1%00', refuse: 'NUL in a parameter' },
  ]
}

function enumValues(s: Schema): QueryValue[] {
  const valid = (s.enum ?? []).filter((v): v is string => typeof v === 'string')
  return [
    ...valid.map((v) => ({ raw: enc(v) })),
    { raw: enc((valid[0] ?? 'x').toUpperCase()) },
    { raw: 'random', refuse: 'not one of the values' },
    { raw: '' },
    { raw: enc(valid.join(',')) },
    { raw: enc(HUGE) },
    { raw: '%00', refuse: 'NUL in a parameter' },
  ]
}

const UUID_VALUES: QueryValue[] = [
  { raw: 'not-a-uuid' },
  { raw: '00000000-0000-0000-0000-000000000000' },
  { raw: '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B' },
  { raw: enc('{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}') },
  { raw: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b%00' },
  { raw: enc(HUGE) },
  { raw: '' },
]

function queryValues(p: Param): QueryValue[] {
  const s = p.schema
  if (s.enum) return enumValues(s)
  if (s.type === 'integer' || s.type === 'number') return intValues(s)
  if (s.format === 'uuid') return UUID_VALUES
  if (p.name.includes('date')) return DATE_VALUES
  if (s.pattern?.startsWith('^extra')) {
    return [
      { raw: 'extra.' },
      { raw: 'extra.a%00', refuse: 'NUL in a parameter' },
      { raw: `extra.${'k'.repeat(101)}` },
      { raw: 'extra.a.b' },
      { raw: 'extra.%ED%A0%80' },
      { raw: 'extra.ok' },
    ]
  }
  const values = [...TEXT_VALUES]
  if (s.maxLength) values.push({ raw: 'x'.repeat(s.maxLength) }, { raw: 'x'.repeat(s.maxLength + 1), refuse: `longer than ${s.maxLength}` })
  return values
}

/** Parameter names no operation has: each must be refused (a typo must never widen a query or a delete). */
const UNKNOWN_PARAMS = ['level', 'limitt', 'START_DATE', 'start_date%20', '__proto__', 'constructor', 'q[]', 'foo', 'extra', 'confirm2']

/** Values that make a query valid where the operation requires them, so the hostile one is what is tested. */
function baseline(op: Operation): Map<string, string> {
  const out = new Map<string, string>()
  for (const p of op.params) {
    if (!p.required || p.in !== 'query') continue
    if (p.schema.enum?.length) out.set(p.name, String(p.schema.enum[0]))
    else if (p.name === 'start_date') out.set(p.name, '2001-01-01T00:00:00Z')
    else if (p.name === 'end_date') out.set(p.name, '2001-01-02T00:00:00Z')
    else out.set(p.name, 'x')
  }
  return out
}

// ---------------------------------------------------------------------------
// Bodies

/** A piece of raw JSON text put in place of a marker when the body is serialized. */
interface Raw {
  raw: string
}
const isRaw = (v: unknown): v is Raw => typeof v === 'object' && v !== null && 'raw' in v && Object.keys(v).length === 1

interface BodyValue {
  value: unknown
  refuse?: string
}

const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n)

const TIMESTAMP_VALUES: BodyValue[] = [
  { value: '0000-01-01T00:00:00Z', refuse: 'year 0' },
  { value: '0000-01-01T00:30:00+01:00', refuse: 'year 0' },
  { value: '9999-12-31T23:59:59-23:59', refuse: 'year 10000 after its offset' },
  { value: '+010000-01-01T00:00:00Z', refuse: 'year 10000' },
  { value: '2024-02-30T00:00:00Z', refuse: 'impossible date' },
  { value: '2023-02-29T12:00:00Z', refuse: 'impossible date' },
  { value: '2024-01-01T24:00:01Z', refuse: 'impossible time' },
  { value: '2024-02-29T12:00:00Z' },
  { value: '2024-01-01T00:00:00' },
  { value: '2024-12-31T23:59:60Z' },
  { value: 0, refuse: 'not a date' },
  { value: 1e20, refuse: 'not a date' },
  { value: '', refuse: 'not a date' },
  { value: 'yesterday', refuse: 'not a date' },
  { value: HUGE, refuse: 'not a date' },
  { value: { raw: '"2024-01-01T00:00:00Z\\u0000"' }, refuse: 'NUL in a value' },
]

function stringValues(s: Schema, name: string): BodyValue[] {
  const values: BodyValue[] = [
    { value: 123, refuse: 'not a string' },
    { value: true, refuse: 'not a string' },
    { value: [], refuse: 'not a string' },
    { value: {}, refuse: 'not a string' },
    { value: { raw: '"\\ud800"' }, refuse: 'a lone surrogate' },
    { value: { raw: '"a\\udfffb"' }, refuse: 'a lone surrogate' },
    // NUL in event text is removed, as the README says (Postgres text cannot hold it); in filters, keys and times it is refused
    { value: { raw: '"a\\u0000b"' } },
    { value: '😀\uffff' },
    { value: HUGE, ...(s.maxLength || s.pattern ? { refuse: 'too long' } : {}) },
    { value: '' },
  ]
  if (s.maxLength) {
    values.push({ value: 'x'.repeat(s.maxLength) }, { value: 'x'.repeat(s.maxLength + 1), refuse: `longer than ${s.maxLength}` })
  }
  if (s.pattern) values.push({ value: 'NOT VALID!', refuse: `not matching ${s.pattern}` })
  if (s.enum) values.push({ value: 'SUCCESS', refuse: 'not one of the values' }, { value: 'unknown', refuse: 'not one of the values' })
  if (name === 'ip_address') {
    values.push(
      { value: 'not-an-ip', refuse: 'not an address' },
      { value: '999.1.1.1', refuse: 'not an address' },
      { value: '1.2.3.4/33', refuse: 'not an address' },
      { value: 'fe80::1%eth0' },
      { value: '10.0.0.1, 10.0.0.2', refuse: 'not an address' },
      { value: '::ffff:1.2.3.4' },
    )
  }
  if (name === 'id') values.push({ value: 'not-a-uuid', refuse: 'not a uuid' }, { value: '00000000-0000-0000-0000-000000000000' })
  return values
}

const EXTRA_VALUES: BodyValue[] = [
  { value: {} },
  { value: [] },
  { value: 'text' },
  { value: 5 },
  { value: null },
  { value: { raw: deep(5000) }, refuse: 'nested 5,000 deep' },
  { value: { raw: `{"a":${deepArray(5000)}}` }, refuse: 'nested 5,000 deep' },
  { value: { raw: deep(50) } },
  { value: { pad: 'x'.repeat(40_000) }, refuse: 'larger than 32,768 bytes' },
  { value: { raw: '{"\\ud800":1}' }, refuse: 'a lone surrogate in a key' },
  { value: { raw: '{"a":"\\ud800"}' }, refuse: 'a lone surrogate' },
  // NUL is removed from keys as from text (README); two keys it would merge are refused
  { value: { raw: '{"a\\u0000":1,"a":2}' }, refuse: 'keys that differ only by NUL' },
  { value: { raw: '{"a":"\\u0000"}' } },
  { value: { raw: '{"n":1e309}' } },
  { value: { raw: '{"n":-0,"m":18446744073709551616,"f":1.7976931348623157e308}' } },
  { value: { raw: '{"__proto__":{"polluted":1},"constructor":{"prototype":1}}' } },
  { value: { raw: '{"a":1,"a":2}' } },
]

function bodyValues(name: string, s: Schema): BodyValue[] {
  if (name === 'timestamp') return TIMESTAMP_VALUES
  if (name === 'extra_info') return EXTRA_VALUES
  const nullable = s.nullable === true || (Array.isArray(s.type) && s.type.includes('null'))
  return [...stringValues(s, name), { value: null, ...(nullable ? {} : { refuse: 'null for a required value' }) }]
}

let rawSeq = 0
/** JSON text with every {raw} replaced by its raw text. */
function serialize(value: unknown): string {
  const raws = new Map<string, string>()
  const text = JSON.stringify(value, (_k, v) => {
    if (isRaw(v)) {
      const marker = `__raw_${rawSeq++}__`
      raws.set(marker, v.raw)
      return marker
    }
    return v
  })
  return text.replace(/"__raw_\d+__"/g, (m) => raws.get(m.slice(1, -1)) as string)
}

const encoder = new TextEncoder()

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/merge-patch+json',
  'application/json; charset=latin1',
  '',
]

const BAD_JSON = ['', '{', '{"source":', '{"a":1,}', "{'a':1}", 'NaN', 'null', '[]', '"text"', '42', '\ufeff{}', '{"events":null}', '{"events":{}}', '{"events":[]}', '{"events":[[]]}', '{"events":[{"events":[]}]}']

/** A valid event of the fuzz run: what the hostile fields are put into. */
export function validEvent(rng: Rng, n: number): Record<string, unknown> {
  return {
    id: uuidOf(rng),
    source: 'fuzz',
    operation_type: 'fuzz_case',
    result: rng.pick(['success', 'failure', 'warning']),
    message: `fuzz ${n}`,
    extra_info: { n },
  }
}

/** A random UUID (version 4 layout) from the seeded generator, so runs repeat. */
export function uuidOf(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[rng.int(4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

// ---------------------------------------------------------------------------
// Cases

/** Requests per operation (method and path); together above 1,000. */
const SHARE: Record<string, number> = {
  'POST /api/v1/audit/events': 420,
  'GET /api/v1/audit/events': 200,
  'GET /api/v1/audit/events/export': 120,
  'GET /api/v1/audit/stats': 120,
  'GET /api/v1/audit/events/{id}': 60,
  'GET /api/v1/audit/me': 20,
  'DELETE /api/v1/audit/events': 100,
  'POST /api/v1/audit/retention/run': 20,
}
const DEFAULT_SHARE = 20

/**
 * The hostile requests for a document's operations, deterministic for a seed.
 *
 * @example
 * const cases = fuzzCases(operationsOf(doc), new Rng(12), { authorization: 'Bearer …' })
 */
export function fuzzCases(ops: Operation[], rng: Rng, auth: { admin: string; read: string; ingest: string }): FuzzCase[] {
  const cases: FuzzCase[] = []
  let n = 0
  for (const op of ops) {
    const name = `${op.method} ${op.path}`
    const count = SHARE[name] ?? DEFAULT_SHARE
    for (let i = 0; i < count; i++) cases.push(oneCase(op, rng, auth, n++))
  }
  // interleave the operations, as real traffic would, but keep deletes for the end
  for (let i = cases.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[cases[i], cases[j]] = [cases[j] as FuzzCase, cases[i] as FuzzCase]
  }
  return [...cases.filter((c) => !c.destructive), ...cases.filter((c) => c.destructive)]
}

function oneCase(op: Operation, rng: Rng, auth: { admin: string; read: string; ingest: string }, n: number): FuzzCase {
  const name = `${op.method} ${op.path}`
  const notes: string[] = []
  let refuse: string | undefined
  const headers: Record<string, string> = { authorization: `Bearer ${auth.admin}` }
  let method = op.method
  const destructive = op.method === 'DELETE' || op.path.endsWith('/retention/run')

  // path
  let path = op.path
  for (const p of op.params.filter((q) => q.in === 'path')) {
    const v = rng.chance(0.2) ? uuidOf(rng) : rng.pick(queryValues(p)).raw
    path = path.replace(`{${p.name}}`, v || '%20')
    notes.push(`${p.name}=${v.slice(0, 40)}`)
  }

  // query
  const query = new Map<string, QueryValue[]>([...baseline(op)].map(([k, v]) => [k, [{ raw: enc(v) }]]))
  const queryParams = op.params.filter((p) => p.in === 'query')
  if (queryParams.length) {
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const p = rng.pick(queryParams)
      const v = rng.pick(queryValues(p))
      if (rng.chance(0.15) && query.has(p.name)) query.get(p.name)?.push(v) // repeated
      else query.set(p.name, [v])
      notes.push(`${p.name}=${v.raw.slice(0, 40)}`)
    }
  }
  // only the values the request ends up with decide
  refuse = [...query.values()].flat().find((v) => v.refuse)?.refuse
  if (rng.chance(0.12)) {
    const u = rng.pick(UNKNOWN_PARAMS)
    query.set(u, [{ raw: 'INFO' }])
    notes.push(`unknown ${u}`)
    refuse = `unknown parameter ${u}`
  }
  if (rng.chance(0.05) && queryParams.some((p) => p.name === 'start_date')) {
    query.set(`extra.${rng.pick(['k', 'a%00', '%ED%A0%80', 'x'.repeat(200)])}`, [{ raw: rng.pick(TEXT_VALUES).raw }])
    notes.push('extra.<key>')
  }

  // body
  let body: Uint8Array | undefined
  let ingest = false
  if (op.method === 'POST' && op.body?.properties) {
    ingest = true
    const shape = rng.next()
    headers['content-type'] = 'application/json'
    if (shape < 0.55) {
      // one event or a batch with one hostile field
      const batch = rng.chance(0.4)
      const events = Array.from({ length: batch ? 1 + rng.int(5) : 1 }, (_, k) => validEvent(rng, n * 10 + k))
      const target = rng.pick(events)
      const fields = Object.keys(op.body.properties)
      const why = new Map<string, string | undefined>()
      for (let k = 1 + rng.int(2); k > 0; k--) {
        const field = rng.pick(fields)
        const v = rng.pick(bodyValues(field, op.body.properties[field] as Schema))
        target[field] = v.value
        why.set(field, v.refuse)
        notes.push(`${field}=${describe(v.value)}`)
      }
      refuse ??= [...why.values()].find(Boolean)
      if (rng.chance(0.05)) {
        target.unknown_field = 1
        refuse ??= 'an unknown field'
        notes.push('unknown field')
      }
      if (batch && rng.chance(0.1) && events.length > 1) {
        ;(events[1] as Record<string, unknown>).id = (events[0] as Record<string, unknown>).id
        notes.push('one id twice')
      }
      body = encoder.encode(serialize(batch ? { events } : target))
    } else if (shape < 0.65) {
      const text = rng.pick(BAD_JSON)
      body = encoder.encode(text)
      notes.push(`body ${JSON.stringify(text)}`)
      refuse ??= 'not an event'
    } else if (shape < 0.75) {
      headers['content-type'] = rng.pick(CONTENT_TYPES)
      if (!headers['content-type']) delete headers['content-type']
      body = encoder.encode(serialize(validEvent(rng, n * 10)))
      notes.push(`content-type ${JSON.stringify(headers['content-type'] ?? null)}`)
    } else if (shape < 0.8) {
      // bytes that are not UTF-8 inside a string
      const pre = encoder.encode('{"source":"fuzz","operation_type":"fuzz_case","result":"success","message":"')
      const bad = rng.pick([new Uint8Array([0xff, 0xfe]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0xc0, 0x80])])
      const post = encoder.encode('"}')
      body = new Uint8Array([...pre, ...bad, ...post])
      notes.push('invalid UTF-8 bytes')
    } else if (shape < 0.83) {
      body = encoder.encode(serialize({ events: Array.from({ length: 1001 }, (_, k) => validEvent(rng, n * 10 + k)) }))
      notes.push('1,001 events')
      refuse ??= 'more than 1,000 events'
    } else if (shape < 0.85) {
      body = encoder.encode(serialize({ ...validEvent(rng, n * 10), message: 'x'.repeat(1024 * 1024) }))
      notes.push('body over 1 MiB')
      refuse ??= 'larger than the body limit'
    } else {
      // a plain valid event: some must be accepted, for the acknowledged check to mean something
      body = encoder.encode(serialize(rng.chance(0.5) ? validEvent(rng, n * 10) : { events: [validEvent(rng, n * 10), validEvent(rng, n * 10 + 1)] }))
      notes.push('valid')
    }
    if (rng.chance(0.4)) {
      headers.prefer = 'respond-async'
      notes.push('Prefer: respond-async')
    }
  } else if (op.method === 'POST' && rng.chance(0.3)) {
    headers['content-type'] = rng.pick(CONTENT_TYPES) || 'application/json'
    body = encoder.encode(rng.pick(BAD_JSON))
    notes.push('a body it does not take')
  }

  // who asks, and how
  const who = rng.next()
  if (who < 0.03) {
    delete headers.authorization
    notes.push('no key')
  } else if (who < 0.05) {
    headers.authorization = rng.pick(['Bearer ', 'Bearer wrong-key-0123456789', `Basic ${auth.admin}`, `Bearer  ${auth.admin}`, 'Bearer ' + 'k'.repeat(5000)])
    notes.push('bad key')
  } else if (who < 0.07) {
    headers.authorization = `Bearer ${op.method === 'GET' ? auth.ingest : auth.read}`
    notes.push('key of another role')
  }
  if (rng.chance(0.03)) {
    method = rng.pick(['PUT', 'PATCH', 'OPTIONS', op.method === 'GET' ? 'HEAD' : 'GET'])
    notes.push(`as ${method}`)
    ingest = ingest && method === 'POST'
  }
  if (refuse && (who < 0.07 || method !== op.method)) refuse = undefined // refused for who or how it asks; fine either way

  const qs = [...query].flatMap(([k, vs]) => vs.map((v) => `${k}=${v.raw}`)).join('&')
  return {
    op: name,
    method,
    url: qs ? `${path}?${qs}` : path,
    headers,
    ...(body && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
    ...(refuse ? { refuse } : {}),
    ingest,
    destructive,
    what: notes.join(', '),
  }
}

function describe(v: unknown): string {
  if (isRaw(v)) return v.raw.length > 40 ? `${v.raw.slice(0, 40)}… (${v.raw.length} chars)` : v.raw
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 40)}… (${s.length} chars)` : s
}
