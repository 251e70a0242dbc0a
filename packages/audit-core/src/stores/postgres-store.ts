import net from 'node:net'
import type { Readable } from 'node:stream'
import postgres from 'postgres'
import { CSV_HEADER } from '../csv.ts'
import { EVENT_COLUMNS, type EventRow } from '../schema/event.ts'
import type { EventFilters, SortOrder } from '../schema/query.ts'
import { COPY_EVENTS_SQL, copyText } from './copy-text.ts'
import { applyMigrations, readMigrations, DEFAULT_MIGRATIONS_DIR } from './migrate.ts'
import { createSqlStore } from './sql-store.ts'
import type { AuditStore } from './store.ts'

export interface PostgresStoreOptions {
  /** A Postgres server, or a Supabase project's direct or pooler connection string. */
  databaseUrl: string
  /** Apply the migrations on open (default true). */
  migrate?: boolean
  migrationsDir?: string
  /** Connection pool size (default 10). */
  max?: number
  /**
   * Write batches with `COPY … FROM STDIN` (default true): the server spends
   * a third less time per row than in the insert function. Turn it off for
   * a connection pooler that does not pass COPY through (AUDIT_PG_COPY=off).
   */
  copy?: boolean
}

/**
 * A store on a Postgres server through postgres.js.
 *
 * @example
 * const store = await openPostgresStore({ databaseUrl: process.env.DATABASE_URL! })
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<AuditStore & { sql: postgres.Sql }> {
  const sql = postgres(options.databaseUrl, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: 'audit-events' },
    // postgres.js documents `socket` (README, "Custom socket") but does not type it
    ...({ socket: connectNoDelay() } as object),
  })
  if (options.migrate !== false) {
    await migratePostgres(sql, options.migrationsDir)
  }
  const store = createSqlStore(
    'postgres',
    // Prepared (a third off the page's latency) unless the URL says `?prepare=false`, as a transaction pooler needs.
    { query: (text, params) => sql.unsafe(text, params as never[], { prepare: sql.options.prepare }) as never },
    () => sql.end({ timeout: 5 }),
  )
  if (options.copy !== false) {
    const insertFunction = store.insertEvents
    store.insertEvents = async (rows) => {
      if (rows.length === 0) return 0
      // A refused COPY writes nothing; the insert function then skips the
      // ids already there (a re-sent batch) or raises the data error with its SQLSTATE.
      return (await copyEvents(sql, rows)) ? rows.length : insertFunction(rows)
    }
  }
  if (options.copy !== false) store.exportCsv = (filters, order) => exportCsv(sql, filters, order)
  return Object.assign(store, { sql })
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
function exportCsv(sql: postgres.Sql, filters: EventFilters, order: SortOrder): ReadableStream<Uint8Array> {
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
      source.removeAllListeners('readable').on('error', () => {}).on('data', () => {}).resume()
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
async function copyEvents(sql: postgres.Sql, rows: readonly EventRow[]): Promise<boolean> {
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

/**
 * Connections with Nagle's algorithm off. postgres.js leaves it on, and COPY
 * sends its 5-byte CopyDone in a write of its own after the data, which then
 * waits for a delayed ACK: about 40 ms a batch (30,000 rows/s against 95,000
 * with it off, bench/README.md).
 */
function connectNoDelay() {
  let next = 0
  return (o: { host: string[]; port: number[]; path?: string | false }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const i = next++ % o.host.length
      const socket = o.path ? net.connect(o.path) : net.connect({ host: o.host[i] as string, port: o.port[i] as number, noDelay: true })
      socket.once('connect', () => {
        socket.removeListener('error', reject)
        resolve(socket)
      })
      socket.once('error', reject)
    })
}

/** Applies pending migrations under an advisory lock, so concurrent starts migrate once. */
export async function migratePostgres(sql: postgres.Sql, migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir)
  const conn = await sql.reserve()
  try {
    await conn`select pg_advisory_lock(hashtext('audit_events.migrate'))`
    try {
      return await applyMigrations(
        {
          exec: async (text) => {
            await conn.unsafe(text)
          },
          appliedNames: async () =>
            (await conn<{ name: string }[]>`select name from audit_meta.schema_migrations`).map((r) => r.name),
        },
        migrations,
      )
    } finally {
      await conn`select pg_advisory_unlock(hashtext('audit_events.migrate'))`
    }
  } finally {
    conn.release()
  }
}
