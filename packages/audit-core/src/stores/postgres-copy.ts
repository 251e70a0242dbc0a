import type { Readable } from 'node:stream'
import type postgres from 'postgres'
import { CSV_HEADER } from '../csv.ts'
import { EVENT_COLUMNS, type EventRow } from '../schema/event.ts'
import type { EventFilters, SortOrder } from '../schema/query.ts'

// The postgres store's COPY paths: batches in (copyEvents) and the CSV export out (exportCsv).

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
    ? `to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : NOT_FREE_TEXT.has(c)
      ? `"${c}"`
      : `case when left("${c}", 1) in ('=', '+', '-', '@', E'\\t', E'\\r') then '''' || "${c}" else "${c}" end`,
).join(', ')

/**
 * The export's CSV written by the server: `COPY (select …) TO STDOUT
 * (FORMAT csv, FORCE_QUOTE *)` on a reserved connection (postgres.js would
 * otherwise queue other queries behind the COPY). Pull-based: the socket is
 * paused while the client is slow. Cancelling stops the COPY with
 * pg_cancel_backend (postgres.js cannot cancel a streaming COPY) and drains
 * what is already on its way, so the connection goes back to the pool usable.
 */
export function exportCsv(sql: postgres.Sql, filters: EventFilters, order: SortOrder): ReadableStream<Uint8Array> {
  const dir = order === 'asc' ? 'asc' : 'desc'
  let source: Readable | undefined
  let pid = 0
  let cancelling: Promise<unknown> = Promise.resolve()
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const [w] = await sql.unsafe<{ w: string }[]>('select public.audit_events_where($1::text::jsonb) as w', [JSON.stringify(filters)])
      const conn = await sql.reserve()
      try {
        pid = (await conn<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]?.pid ?? 0
        source = (await conn
          .unsafe(`copy (select ${CSV_SELECT} from public.audit_events where ${w?.w ?? 'false'} order by "timestamp" ${dir}, id ${dir}) to stdout (format csv, force_quote *)`)
          .readable()) as Readable
      } catch (err) {
        conn.release()
        throw err
      }
      // Back to the pool once the COPY's last message is read and a cancel
      // sent for it has landed (it must not hit the connection's next query);
      // not at all when the connection was lost (see copyEvents).
      let lost = false
      source.on('error', (err) => (lost ||= !connectionSurvives(err)))
      source.once('close', () => {
        if (lost) return
        const release = () => conn.release()
        void cancelling.finally(() =>
          conn`select 1`.then(release, (err: unknown) => {
            if (connectionSurvives(err)) release()
          }),
        )
      })
      controller.enqueue(new TextEncoder().encode(CSV_HEADER))
    },
    async pull(controller) {
      const chunk = await nextChunk(source as Readable)
      if (chunk === null) controller.close()
      else controller.enqueue(chunk)
    },
    cancel() {
      if (!source || source.closed) return
      cancelling = sql`select pg_cancel_backend(${pid})`.catch(() => {})
      source.removeAllListeners('readable').on('data', () => {}).resume()
    },
  })
}

/** The next chunk of a paused stream, or null at its end. */
function nextChunk(src: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const done = () => {
      src.off('readable', tryRead).off('end', onEnd).off('error', onError)
    }
    const tryRead = () => {
      const chunk = src.read() as Buffer | null
      if (chunk !== null) {
        done()
        resolve(chunk)
      }
    }
    const onEnd = () => {
      done()
      resolve(null)
    }
    const onError = (err: unknown) => {
      done()
      reject(err)
    }
    if (src.readableEnded) return resolve(null)
    src.on('readable', tryRead).once('end', onEnd).once('error', onError)
    tryRead()
  })
}

/**
 * COPYs the rows in one transaction; false when the server refused them (a
 * duplicate id, bad data) or a row needs the insert function's defaults.
 * postgres.js reports no error for a COPY that fails after its last byte
 * was sent, so the outcome is read from COMMIT, which an aborted
 * transaction answers with ROLLBACK.
 */
export async function copyEvents(sql: postgres.Sql, rows: readonly EventRow[]): Promise<boolean> {
  const text = copyText(rows)
  if (text === null) return false
  const conn = await sql.reserve()
  let alive = true
  try {
    await conn.unsafe('begin')
    const stream = await conn.unsafe(COPY_EVENTS_SQL).writable()
    let failure: unknown
    stream.on('error', (err) => (failure = err))
    await new Promise<void>((resolve) => stream.write(text, () => resolve()))
    // Refused mid-stream by the server: COMMIT below says so. The connection
    // lost: no statement may follow on it (postgres.js would write to a
    // closed socket), and the error is transient, so the queue retries.
    if (failure !== undefined && !connectionSurvives(failure)) throw failure
    if (!stream.destroyed) stream.end()
    const done = await conn.unsafe('commit')
    return done.command === 'COMMIT'
  } catch (err) {
    alive = connectionSurvives(err)
    throw err
  } finally {
    // A connection that closed is already back in the pool's closed set;
    // releasing it would hand the dead socket to the next query.
    if (alive) conn.release()
  }
}

/**
 * Whether the connection outlived this error: a statement's error from the
 * server (a SQLSTATE), not a lost socket (postgres.js codes such as
 * CONNECTION_CLOSED), a FATAL one, or class 08 (connection exception) or 57P
 * (the server shutting the session down).
 */
function connectionSurvives(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown } | null
  const code = e?.code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false
  return e?.severity !== 'FATAL' && e?.severity !== 'PANIC' && !code.startsWith('08') && !code.startsWith('57P')
}
