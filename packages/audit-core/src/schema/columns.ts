/**
 * The columns of `public.audit_events`, each defined once: its SQL type,
 * length, nullability and CHECK rule, and how the API takes it. Everything
 * else is derived from this table: `LIMITS` and `EVENT_COLUMNS` (model.ts),
 * the zod `EventInputSchema` and the logger's fast check (event.ts), and the
 * filter parameters (query.ts). columns.test.ts holds it to the migrated
 * database (`information_schema.columns` and `pg_constraint`).
 *
 * No runtime dependency: the web page imports this through model.ts.
 */

/** A column's type as `information_schema.columns.data_type` names it. */
export type SqlType = 'uuid' | 'timestamp with time zone' | 'character varying' | 'text' | 'jsonb' | 'inet'

export interface ColumnSpec {
  readonly type: SqlType
  /** `varchar(n)`: at most n characters (code points, as Postgres counts them). */
  readonly maxLength?: number
  /** Whether SQL allows null (`is_nullable`). */
  readonly nullable: boolean
  /** How an event gives it: must (`required`), may (`optional`), or may give null (`nullable`). */
  readonly input: 'required' | 'optional' | 'nullable'
  /** `check (col in (...))`: the only values allowed. */
  readonly values?: readonly [string, ...string[]]
  /** Values in common use, documented (OpenAPI, types) but not enforced: the column takes any value its pattern allows. */
  readonly common?: readonly [string, ...string[]]
  /** `check (col ~ '...')`: the regular expression, exactly as the migration writes it. */
  readonly pattern?: string
  /** A bound the application adds to a column SQL leaves unbounded (a `text`), in characters. */
  readonly maxChars?: number
  /** `jsonb`: largest value, in UTF-8 bytes of its JSON. */
  readonly maxBytes?: number
  /** `jsonb`: deepest nesting of objects and arrays (the value itself is depth 1). */
  readonly maxDepth?: number
  /** Filterable as a query parameter (`col=a,b` means any of); the SQL function audit_events_where names the same. */
  readonly filter?: true
  /** The filter takes `*` wildcards (`prefix*`, `*part*`; `\*` a literal star); audit_events_where names the same columns. */
  readonly wildcard?: true
  /** What it is, for the OpenAPI document. */
  readonly description?: string
}

/** The columns in table order (also the CSV header's order). */
export const COLUMNS = {
  id: { type: 'uuid', nullable: false, input: 'optional', description: 'Client-chosen id (UUID); re-sending the same id writes nothing twice.' },
  timestamp: { type: 'timestamp with time zone', nullable: false, input: 'optional', description: 'When it happened (ISO 8601 with Z or an offset, years 0001-9999 in UTC); default now.' },
  source: { type: 'character varying', maxLength: 50, nullable: false, input: 'required', pattern: '^[a-z0-9_.:-]+$', filter: true },
  operator: { type: 'character varying', maxLength: 255, nullable: true, input: 'nullable', filter: true, wildcard: true, description: 'Who: user email or id, service name; null for system events.' },
  operation_type: { type: 'character varying', maxLength: 100, nullable: false, input: 'required', pattern: '^[A-Za-z0-9_.:-]+$', filter: true, wildcard: true },
  result: { type: 'character varying', maxLength: 20, nullable: false, input: 'required', values: ['success', 'failure', 'warning'], filter: true },
  message: { type: 'text', nullable: true, input: 'nullable', maxChars: 16 * 1024, description: 'What happened, in words.' },
  extra_info: { type: 'jsonb', nullable: true, input: 'nullable', maxBytes: 32 * 1024, maxDepth: 32, description: 'Free JSON metadata' },
  // nullable in SQL: a trigger derives it from result for writers that predate it
  severity: {
    type: 'character varying',
    maxLength: 10,
    nullable: true,
    input: 'optional',
    values: ['debug', 'info', 'warning', 'error', 'critical'],
    filter: true,
    description: 'Severity; default derived from result: success→info, warning→warning, failure→error.',
  },
  tenant_id: { type: 'character varying', maxLength: 255, nullable: true, input: 'nullable', filter: true },
  actor_type: {
    type: 'character varying',
    maxLength: 20,
    nullable: true,
    input: 'nullable',
    pattern: '^[a-z_]+$',
    common: ['user', 'admin', 'service', 'system', 'guest'],
    filter: true,
    description: 'Kind of actor: commonly user, admin, service, system or guest; any [a-z_]{1,20} (e.g. creator).',
  },
  resource_type: { type: 'character varying', maxLength: 100, nullable: true, input: 'nullable', filter: true },
  resource_id: { type: 'character varying', maxLength: 255, nullable: true, input: 'nullable', filter: true },
  request_id: { type: 'character varying', maxLength: 255, nullable: true, input: 'nullable', filter: true },
  ip_address: { type: 'inet', nullable: true, input: 'nullable', description: 'Client address (IPv4 or IPv6).' },
  user_agent: { type: 'character varying', maxLength: 1024, nullable: true, input: 'nullable', description: 'Client user agent.' },
} as const satisfies Record<string, ColumnSpec>

export type ColumnName = keyof typeof COLUMNS

/** Years an event's time may fall in, in UTC: Postgres has no year 0, and ISO 8601 text past 9999 needs a sign it does not read. */
export const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z')

/** The character class of a name column's pattern, e.g. `[a-z0-9_.:-]` of `^[a-z0-9_.:-]+$`. */
export function patternClass(pattern: string): string {
  return pattern.replace(/^\^/, '').replace(/\+\$$/, '')
}

/** Characters of a string as Postgres counts them (code points, not UTF-16 units). */
export function charLength(s: string): number {
  let n = s.length
  // only a surrogate pair counts as one; a lone surrogate never reaches the database
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}
