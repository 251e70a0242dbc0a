import type pg from 'pg'
import { CSV_HEADER } from '../csv.ts'
import { EVENT_COLUMNS, type EventRow } from '../schema/event.ts'
import { isDataSqlState, isSqlState } from './store.ts'
import type { EventFilters, SortOrder } from '../schema/query.ts'

// The postgres store's COPY paths (pg-copy-streams): batches in (copyEvents) and the CSV export out (exportCsv).

/** pg-copy-streams, which the store loads when it opens with COPY on (an optional peer dependency). */
export type CopyStreams = Pick<typeof import('pg-copy-streams'), 'from' | 'to'>

const SPECIAL = /[\\\n\r\t]/
const SPECIAL_ALL = /[\\\n\r\t]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function field(v: string): string {
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : v
}

/** `COPY public.audit_events (…) FROM STDIN` for {@link copyText}'s columns. */
const COPY_EVENTS_SQL = `copy public.audit_events (${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')}) from stdin`

/**
 * Rows in COPY's text format (tab-separated, `\N` for null, backslash
 * escapes), the columns in {@link EVENT_COLUMNS} order; null when a row has
 * no id or timestamp, which only the insert function fills in.
 */
function copyText(rows: readonly EventRow[]): string | null {
  let out = ''
  for (const r of rows) {
    if (!r.id || !r.timestamp) return null
    for (let i = 0; i < EVENT_COLUMNS.length; i++) {
      const v = r[EVENT_COLUMNS[i] as keyof EventRow]
      if (i > 0) out += '\t'
      out += v === null || v === undefined ? '\\N' : field(typeof v === 'string' ? v : JSON.stringify(v))
    }
    out += '\n'
  }
  return out
}

/** Columns whose values cannot start a formula (uuid, time, enums, JSON object, inet): no check needed. */
const NOT_FREE_TEXT = new Set(['id', 'timestamp', 'result', 'extra_info', 'severity', 'actor_type', 'ip_address'])

/** The export's columns (csv.ts) as SQL: ISO times, and the formula guard on every free-text column. */
const CSV_SELECT = EVENT_COLUMNS.map((c) =>
  c === 'timestamp'
    ? `to_char("timestamp" at time zone 'UTC', case when extract(microseconds from "timestamp") % 1000 = 0 then 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"' else 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' end)`
    : NOT_FREE_TEXT.has(c)
      ? `"${c}"`
      : `case when left("${c}", 1) in ('=', '+', '-', '@', E'\\t', E'\\r') then '''' || "${c}" else "${c}" end`,
).join(', ')


const HEADER = new TextEncoder().encode(CSV_HEADER)

/**
 * The export's CSV written by the server: `COPY (select …) TO STDOUT
 * (FORMAT csv, FORCE_QUOTE *)` on a connection of the export pool, read
 * only as fast as the client takes it. Nothing is reserved until the first
 * read (a HEAD request or a body nobody reads holds no connection). A copy
 * read to its end gives its connection back; a cancel or an error destroys
 * it, which ends the server's COPY at its next send, and never needs
 * another connection from any pool.
 */
export function exportCsv(pool: pg.Pool, copy: CopyStreams, filters: EventFilters, order: SortOrder): ReadableStream<Uint8Array> {
  const dir = order === 'asc' ? 'asc' : 'desc'
  let client: pg.PoolClient | undefined
  let rows: AsyncIterator<Buffer> | undefined
  let done = false
  const finish = (clean: boolean) => {
    if (done) return
    done = true
    client?.release(clean ? undefined : true)
  }
  // cancel() may have finished the copy while a read awaited (a call, so no narrowing says otherwise)
  const cancelled = () => done
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!rows) {
            const c = await pool.connect()
            if (cancelled()) {
              c.release(true) // cancelled while connecting
              return
            }
            client = c
            const w = (await c.query<{ w: string }>('select audit_private.audit_events_where($1::text::jsonb) as w', [JSON.stringify(filters)])).rows[0]?.w
            if (cancelled()) return
            const source = c.query(
              copy.to(`copy (select ${CSV_SELECT} from public.audit_events where ${w ?? 'false'} order by "timestamp" ${dir}, id ${dir}) to stdout (format csv, force_quote *)`),
            )
            // its errors come through the iterator; after a cancel nobody reads them
            source.on('error', () => {})
            rows = source[Symbol.asyncIterator]()
            controller.enqueue(HEADER)
            return
          }
          const next = await rows.next()
          if (cancelled()) return
          if (next.done) {
            finish(true)
            controller.close()
          } else controller.enqueue(next.value)
        } catch (err) {
          if (cancelled()) return
          finish(false)
          controller.error(err)
        }
      },
      cancel() {
        finish(false)
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * COPYs the rows: one statement, so one transaction by itself (all the rows
 * or none). False when a row needs the insert function: the server refused
 * the batch for its data (a re-sent id, a bad value: the insert function
 * skips the first and names the second), or a row has no id or timestamp.
 * Any other error is thrown as it came. A COPY the server refused leaves its
 * connection ready for the next statement, and goes back to the pool; after
 * anything else (a lost socket, a timeout) the connection is destroyed.
 */
export async function copyEvents(pool: pg.Pool, copy: CopyStreams, rows: readonly EventRow[]): Promise<boolean> {
  const text = copyText(rows)
  if (text === null) return false
  const client = await pool.connect()
  let clean = false
  try {
    const stream = client.query(copy.from(COPY_EVENTS_SQL))
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject)
      stream.once('finish', resolve)
      stream.end(text)
    })
    clean = true
    return true
  } catch (err) {
    if (!refusedByServer(err)) throw err
    clean = true
    if (isDataSqlState((err as { code: string }).code)) return false
    throw err
  } finally {
    client.release(clean ? undefined : true)
  }
}

/** A statement's error from the server, after which the session goes on (not FATAL, not a lost connection). */
function refusedByServer(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown } | null
  return isSqlState(e?.code) && e.severity === 'ERROR'
}
