import { fullJitter, type Backoff } from './backoff.ts'

/** What a queue tells about itself; `enqueued = written + dropped + rejected + queueDepth` whenever no write is in flight. */
export interface QueueStats {
  /** Every event offered to the queue (or written directly in sync mode), dropped ones included; a request refused before it was queued is not counted. */
  enqueued: number
  /** Acknowledged by the store. */
  written: number
  /** Write attempts that failed for a transient reason (each was retried). */
  failed: number
  /** Events sent again after such a failure. */
  retried: number
  /**
   * Not written, and never will be: refused because the queue was full,
   * withdrawn because their request was answered 503 before they were
   * committed, or still unwritten when a shutdown deadline passed.
   */
  dropped: number
  /** Refused for their data, by validation or by the database (logged with the reason); with them, the rest of a refused request. */
  rejected: number
  /** Waiting or being written now. */
  queueDepth: number
  /** Duration of the last completed flush, in milliseconds. */
  lastFlushMs: number
}

export interface QueueLog {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface BatchQueueOptions<T, R> {
  /** Events held at most, counting those being written (a request larger than this is still taken when the queue is empty). */
  capacity: number
  batchSize: number
  flushIntervalMs: number
  /** The default backoff's first ceiling and its cap (full jitter); ignored when `backoff` is given. */
  retryBaseMs: number
  retryMaxMs: number
  /** How long to wait before each retry of a transient failure (default: full jitter over retryBaseMs·2^n, capped at retryMaxMs). */
  backoff?: Backoff
  /** Validates and converts one event off the caller's path; throws to reject it. */
  prepare: (item: T) => R
  /** Writes one batch atomically; must be idempotent (a retried batch may have been written). */
  write: (rows: R[]) => Promise<unknown>
  /** True when the error is about the rows' data: the batch is split to isolate the bad row. Anything else is retried. */
  isDataError: (err: unknown) => boolean
  /** True when a transient error means the store is misconfigured (it is retried all the same, and said so). */
  isMisconfigured?: (err: unknown) => boolean
  /** Which row of a refused request the database's error names, if it says (null when it does not). */
  locate?: (err: unknown, rows: readonly R[]) => number | null
  /** An event's id, for the shutdown report's list of what was not written. */
  idOf?: (item: T | R) => string | undefined
  /** Batches written at the same time (default 1). Each has its own retries; events are not ordered across batches. */
  concurrency?: number
  /**
   * What the line logged for a rejected event says about it (default: its
   * id). Never its values: a log is read by more people than the table.
   */
  describe?: (item: T | R) => object
  /** Called for each rejected event, after it is counted. */
  onReject?: (item: T | R, reason: string) => void
  /** Called after each flush with its duration. */
  onFlush?: (ms: number, rows: number) => void
  log: QueueLog
  /** How often a repeated warning may be logged (default 10 s). */
  warnEveryMs?: number
}

export interface ShutdownReport {
  written: number
  /** Events that could not be written before the deadline (counted as dropped). */
  unwritten: number
  /**
   * The ids of the unwritten events that were still queued (the first 1,000;
   * with `idOf`): those in a write cut off by the deadline are counted in
   * `unwritten` but not listed, since part of such a batch may be written.
   */
  unwrittenIds: string[]
}

/** What became of a request handed to {@link BatchQueue.submit}. */
export type SubmitOutcome =
  /** Every row is committed. */
  | { status: 'written' }
  /** Queued (the caller did not ask to wait for the commit). */
  | { status: 'queued' }
  /** The database refused a row for its data; none of the request's rows were written, or will be. */
  | { status: 'refused'; index: number | null; reason: string }
  /**
   * Nothing of the request was written, and nothing will be: no room in the
   * queue within the wait (`full`), not committed within it (`timeout`:
   * withdrawn), or the queue is shutting down (`closed`).
   */
  | { status: 'unavailable'; cause: 'full' | 'timeout' | 'closed'; retryAfterSeconds: number }

/** Thrown by `prepare` to reject an event with a reason. */
export class RejectedEventError extends Error {
  override name = 'RejectedEventError'
}

/**
 * One request's rows: queued, written and refused together, never split
 * across batches, so that its outcome is one write's outcome.
 */
class Group<R> {
  /** waiting: for room; queued: in `items`; held: by a writer between attempts; attempting: in a write now; done: resolved. */
  state: 'waiting' | 'queued' | 'held' | 'attempting' | 'done' = 'waiting'
  /** Its wait ended during an attempt: settle on that attempt's outcome. */
  expired = false
  timer: NodeJS.Timeout | undefined
  constructor(
    readonly rows: readonly R[],
    readonly awaitCommit: boolean,
    readonly resolve: (outcome: SubmitOutcome) => void,
  ) {}
}

const noop = () => {}

/**
 * A batch refused with a misconfigured-class error (28, 3D, 3F, 42, 0A) is
 * split like one refused for its data, but its verdict waits: if any part
 * of it was written, the store works and the units that still fail alone
 * are refused like bad data; if none was, the store is at fault and the
 * batch is retried whole, so no event is lost to a revoked privilege.
 */
interface Probe<R> {
  wrote: boolean
  suspects: { rows: R[]; spans: Span<R>[]; error: unknown }[]
}

/** The request whose rows are the whole batch, if one is. */
function wholeGroup<R>(rows: R[], spans: Span<R>[]): Group<R> | undefined {
  const only = spans[0]
  return spans.length === 1 && only?.start === 0 && only.end === rows.length ? only.group : undefined
}

/** One row, or one request's rows: what a split cannot divide further. */
function isLeaf<R>(rows: R[], spans: Span<R>[]): boolean {
  return rows.length === 1 || wholeGroup(rows, spans) !== undefined
}

/** The suspects of a probe as one batch again. */
function joinSuspects<R>(suspects: Probe<R>['suspects']): [R[], Span<R>[]] {
  const rows: R[] = []
  const spans: Span<R>[] = []
  for (const x of suspects) {
    for (const sp of x.spans) spans.push({ ...sp, start: sp.start + rows.length, end: sp.end + rows.length })
    for (const r of x.rows) rows.push(r)
  }
  return [rows, spans]
}

/** A group's rows inside a batch: rows[start, end). */
interface Span<R> {
  group: Group<R>
  start: number
  end: number
}

/**
 * A bounded in-memory queue written in batches off the caller's path.
 *
 * - `enqueue` is O(1): no I/O, no serialization; a full queue drops the new
 *   event, counts it and warns (rate-limited).
 * - `submit` takes a request's rows as one unit (group commit): they wait,
 *   bounded, for room; they share batches with other requests' rows but are
 *   never split across batches; the caller may wait for the commit, and a
 *   request not committed within its wait is withdrawn (never written later).
 * - A batch is written when `batchSize` are queued, `flushIntervalMs` after
 *   the first one arrived (timer unref'd), or at once when a request waits
 *   for its commit; up to `concurrency` batches are written at once.
 * - A transient failure keeps the batch (it still holds its room in the
 *   queue) and retries it, forever if need be, after a backoff with jitter;
 *   a data error splits the batch until the bad event (or request) is alone,
 *   and it is rejected while the rest are written.
 */
export class BatchQueue<T, R> {
  private items: (T | Group<R>)[] = []
  /** Events in `items`. */
  private queued = 0
  /** Events taken off `items` by a writer and not yet written, rejected or withdrawn. */
  private inFlight = 0
  /** Requests in `items` whose sender waits for the commit: they are written without waiting for a full batch. */
  private urgent = 0
  /** Requests waiting for room, oldest first. */
  private waiters: Group<R>[] = []
  /** Admitted requests whose sender waits for an outcome. */
  private readonly open = new Set<Group<R>>()
  private readonly writers = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | null = null
  private drainScheduled = false
  private forceDrain = false
  private closed = false
  private abandonAt = Infinity
  private reported = false
  private readonly sleepers = new Set<() => void>()
  private lastWarn = new Map<string, { at: number; suppressed: number }>()
  private readonly counters = { enqueued: 0, written: 0, failed: 0, retried: 0, dropped: 0, rejected: 0, lastFlushMs: 0 }
  private readonly backoff: Backoff
  /** While writes fail: when the next retry is due, and the delay chosen. */
  private failing: { retryAt: number; delayMs: number } | null = null
  /** Events per second one writer has written lately (smoothed); 0 until measured. */
  private writerRate = 0

  constructor(private readonly opts: BatchQueueOptions<T, R>) {
    this.backoff = opts.backoff ?? fullJitter({ baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs })
  }

  get depth(): number {
    return this.queued + this.inFlight
  }

  stats(): QueueStats {
    return { ...this.counters, queueDepth: this.depth }
  }

  /** Queues one event. Returns false (and counts a drop) when the queue is full or shut down. */
  enqueue(item: T): boolean {
    this.counters.enqueued++
    if (this.closed || this.depth >= this.opts.capacity) {
      this.counters.dropped++
      this.warnLimited('dropped', { capacity: this.opts.capacity }, this.closed ? 'audit queue is shut down; event dropped' : 'audit queue is full; event dropped')
      return false
    }
    this.items.push(item)
    this.queued++
    this.schedule()
    return true
  }

  /** Counts an event refused before it could be queued (the caller's input could not be read) as enqueued and rejected. */
  rejectNow(item: unknown, err: unknown): void {
    this.counters.enqueued++
    this.reject(item as T, err)
  }

  /**
   * Takes one request's rows (already prepared) as a unit. It waits up to
   * `waitMs` for room (the queue takes any request when it is empty, however
   * large); with `awaitCommit` that same wait also bounds the commit: rows
   * not committed by then are withdrawn and the outcome is `unavailable`,
   * except that rows being written at that moment settle on that attempt.
   * Never rejects.
   */
  submit(rows: readonly R[], options: { awaitCommit: boolean; waitMs: number }): Promise<SubmitOutcome> {
    return new Promise((resolve) => {
      if (this.closed || rows.length === 0) {
        resolve(rows.length === 0 ? { status: options.awaitCommit ? 'written' : 'queued' } : this.unavailable('closed'))
        return
      }
      const group = new Group(rows, options.awaitCommit, resolve)
      group.timer = setTimeout(() => this.expire(group), options.waitMs)
      group.timer.unref()
      if (this.waiters.length === 0 && this.fits(rows.length)) this.admit(group)
      else this.waiters.push(group)
    })
  }

  /**
   * Seconds a client told to come back should wait: while writes fail, until
   * the next retry; otherwise the time the writers need for what is queued,
   * at the rate they wrote lately. At least 1.
   */
  retryAfterSeconds(): number {
    let ms: number
    if (this.failing) {
      const left = this.failing.retryAt - Date.now()
      ms = left > 0 ? left : this.failing.delayMs
    } else ms = this.writerRate > 0 ? (this.depth / (this.writerRate * this.concurrency)) * 1000 : 1000
    return Math.min(3600, Math.max(1, Math.ceil(ms / 1000)))
  }

  /**
   * Writes one event now and resolves when the store has it (sync mode). It
   * never rejects: a data error rejects the event; a transient error hands it
   * to the background queue to be retried, so it is not lost.
   */
  async writeNow(item: T): Promise<boolean> {
    this.counters.enqueued++
    let row: R
    try {
      row = this.opts.prepare(item)
    } catch (err) {
      this.reject(item, err)
      return false
    }
    const t0 = performance.now()
    try {
      await this.opts.write([row])
      this.counters.written++
      this.finishFlush(t0, 1)
      return true
    } catch (err) {
      if (this.isDataError(err)) {
        this.reject(row, err)
        return false
      }
      this.counters.failed++
      this.counters.enqueued-- // counted again by enqueue
      this.warnLimited('sync-failed', { err: errorText(err) }, 'audit write failed; event queued for retry')
      this.enqueue(item)
      return false
    }
  }

  /** Writes everything queued so far; resolves when the queue is empty (retrying as long as it takes). */
  async flush(): Promise<void> {
    while ((this.queued > 0 || this.writers.size > 0) && Date.now() < this.abandonAt) {
      this.forceDrain = true
      this.startWriters(true)
      await Promise.all(this.writers)
    }
  }

  /**
   * Stops accepting events and writes what is queued within `deadlineMs`.
   * What is still unwritten then is counted as dropped and reported; its
   * senders are told `unavailable` (those whose rows are being written at
   * that moment, once that attempt is over).
   */
  async shutdown({ deadlineMs }: { deadlineMs: number }): Promise<ShutdownReport> {
    const writtenBefore = this.counters.written
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const g of this.waiters.splice(0)) this.finish(g, this.unavailable('closed'))
    this.abandonAt = Date.now() + deadlineMs
    let deadline: NodeJS.Timeout | undefined
    const timedOut = new Promise<void>((resolve) => {
      deadline = setTimeout(() => {
        for (const wake of this.sleepers) wake()
        resolve()
      }, deadlineMs)
    })
    await Promise.race([this.flush(), timedOut])
    clearTimeout(deadline)
    const unwritten = this.depth
    const unwrittenIds = this.queuedIds(1000)
    this.reported = true
    if (unwritten > 0) {
      this.counters.dropped += unwritten
      this.items = []
      this.queued = 0
      this.urgent = 0
      this.inFlight = 0
      for (const g of this.open) {
        if (g.state === 'attempting') g.expired = true
        else this.finish(g, this.unavailable('closed'))
      }
      this.opts.log.error({ unwritten, deadlineMs, ids: unwrittenIds }, 'audit queue shut down with events it could not write')
    }
    return { written: this.counters.written - writtenBefore, unwritten, unwrittenIds }
  }

  /** Ids of queued events (not those a writer holds), at most `max`. */
  private queuedIds(max: number): string[] {
    const idOf = this.opts.idOf
    const ids: string[] = []
    if (!idOf) return ids
    for (const unit of this.items) {
      for (const item of unit instanceof Group ? unit.rows : [unit]) {
        if (ids.length >= max) return ids
        const id = idOf(item)
        if (id !== undefined) ids.push(id)
      }
    }
    return ids
  }

  private get concurrency(): number {
    return Math.max(1, this.opts.concurrency ?? 1)
  }

  private fits(n: number): boolean {
    return this.depth === 0 || this.depth + n <= this.opts.capacity
  }

  private unavailable(cause: 'full' | 'timeout' | 'closed'): SubmitOutcome {
    return { status: 'unavailable', cause, retryAfterSeconds: this.retryAfterSeconds() }
  }

  private admit(group: Group<R>): void {
    group.state = 'queued'
    this.queued += group.rows.length
    this.counters.enqueued += group.rows.length
    if (group.awaitCommit) {
      this.items.push(group)
      this.urgent++
      this.open.add(group)
    } else {
      // Answered at once: its events are then each on their own, so a row
      // the database refuses is rejected alone, never the acknowledged rows beside it.
      for (const row of group.rows) {
        const one = new Group([row], false, noop)
        one.state = 'queued'
        this.items.push(one)
      }
      clearTimeout(group.timer)
      group.resolve({ status: 'queued' })
    }
    this.schedule()
  }

  /** Lets in the requests waiting for room, oldest first, while they fit. */
  private admitWaiters(): void {
    while (this.waiters.length > 0 && !this.closed) {
      const g = this.waiters[0] as Group<R>
      if (!this.fits(g.rows.length)) return
      this.waiters.shift()
      this.admit(g)
    }
  }

  /** A request's wait is over: withdraw what is not committed (after the attempt in progress, if one is). */
  private expire(group: Group<R>): void {
    const n = group.rows.length
    switch (group.state) {
      case 'waiting':
        this.waiters.splice(this.waiters.indexOf(group), 1)
        this.finish(group, this.unavailable('full'))
        this.admitWaiters()
        return
      case 'queued':
        this.items.splice(this.items.indexOf(group), 1)
        this.queued -= n
        this.urgent--
        this.withdrawn(group)
        return
      case 'held':
        if (!this.reported) this.inFlight -= n
        this.withdrawn(group)
        return
      case 'attempting':
        group.expired = true
        return
      case 'done':
        return
    }
  }

  /** Counts a withdrawn request as dropped (unless shutdown already has) and tells its sender. */
  private withdrawn(group: Group<R>): void {
    const n = group.rows.length
    if (!this.reported) this.counters.dropped += n
    this.warnLimited('withdrawn', { events: n }, 'audit request not committed within its wait; its events are withdrawn and will not be written')
    this.finish(group, this.unavailable('timeout'))
    this.admitWaiters()
  }

  private finish(group: Group<R>, outcome: SubmitOutcome): void {
    group.state = 'done'
    clearTimeout(group.timer)
    this.open.delete(group)
    group.resolve(outcome)
  }

  /** Starts a writer soon when a batch is full or a sender waits for its commit; otherwise arms the interval. */
  private schedule(): void {
    if (this.urgent > 0 || this.queued >= this.opts.batchSize) {
      if (!this.drainScheduled && this.writers.size < this.concurrency) {
        this.drainScheduled = true
        // setImmediate: requests arriving in the same turn share the write
        setImmediate(() => {
          this.drainScheduled = false
          this.startWriters(this.urgent > 0)
        })
      }
    } else if (!this.timer && this.writers.size === 0) {
      this.armTimer()
    }
  }

  private armTimer(): void {
    this.timer = setTimeout(() => {
      this.timer = null
      this.startWriters(true)
    }, this.opts.flushIntervalMs)
    this.timer.unref()
  }

  /**
   * Starts writers (up to `concurrency`) while there is a full batch for each;
   * `partial` also sends a batch smaller than `batchSize` (interval, flush, or
   * a sender waiting for its commit).
   */
  private startWriters(partial: boolean): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    while (this.writers.size < this.concurrency && (this.queued >= this.opts.batchSize || (partial && this.queued > 0))) {
      const writer: Promise<void> = this.writeBatches()
        .catch((err: unknown) => {
          // A bug must not kill the process; the rows it held are reported by the counters.
          this.opts.log.error({ err: errorText(err), queueDepth: this.depth }, 'audit queue flush failed unexpectedly')
        })
        .finally(() => {
          this.writers.delete(writer)
          if (this.writers.size > 0) return
          this.forceDrain = false
          if (this.queued === 0 || this.closed) return
          // Left: a full batch or a waiting sender (write now), or a partial batch (wait for more, or for the interval).
          if (this.urgent > 0 || this.queued >= this.opts.batchSize) setImmediate(() => this.startWriters(this.urgent > 0))
          else if (!this.timer) this.armTimer()
        })
      this.writers.add(writer)
    }
  }

  /** One writer: takes a batch, writes it, and goes on while full batches, waiting senders or (when flushing) anything is queued. */
  private async writeBatches(): Promise<void> {
    do {
      const t0 = performance.now()
      const { rows, spans } = this.take()
      const n = rows.length
      if (await this.writeRows(rows, spans, 0)) return // shut down past its deadline; shutdown() reports the rest
      this.finishFlush(t0, n)
    } while (this.queued >= this.opts.batchSize || (this.forceDrain && this.queued > 0) || this.urgent > 0)
  }

  /** Takes whole units off the queue, up to `batchSize` events (or one request, however large), and prepares them. */
  private take(): { rows: R[]; spans: Span<R>[] } {
    let n = 0
    let count = 0
    for (const unit of this.items) {
      const size = unit instanceof Group ? unit.rows.length : 1
      if (n > 0 && n + size > this.opts.batchSize) break
      n += size
      count++
    }
    const units = this.items.splice(0, count)
    this.queued -= n
    this.inFlight += n
    const rows: R[] = []
    const spans: Span<R>[] = []
    for (const unit of units) {
      if (unit instanceof Group) {
        if (unit.awaitCommit) this.urgent--
        unit.state = 'held'
        spans.push({ group: unit, start: rows.length, end: rows.length + unit.rows.length })
        for (const row of unit.rows) rows.push(row)
        continue
      }
      try {
        rows.push(this.opts.prepare(unit))
      } catch (err) {
        this.settle(1, 'rejected')
        this.reject(unit, err)
      }
    }
    return { rows, spans }
  }

  /**
   * Writes a batch until it is written, split or given up at the shutdown
   * deadline (returns true then). Inside a {@link Probe}, a unit that fails
   * alone with a misconfigured-class error is set aside for the probe's
   * verdict instead of being retried.
   */
  private async writeRows(rows: R[], spans: Span<R>[], attempt: number, probe?: Probe<R>): Promise<boolean> {
    let previousMs = 0
    let retry = false
    let unprobed = 0
    for (;;) {
      ;[rows, spans] = this.prune(rows, spans)
      if (rows.length === 0) return false
      if (retry) this.counters.retried += rows.length
      retry = true
      for (const s of spans) s.group.state = 'attempting'
      const t0 = Date.now()
      let error: unknown
      try {
        await this.opts.write(rows)
      } catch (err) {
        error = err ?? new Error('write failed')
      }
      if (error === undefined) {
        this.failing = null
        if (probe) probe.wrote = true
        this.noteRate(rows.length, Date.now() - t0)
        this.settle(rows.length, 'written')
        for (const s of spans) this.finish(s.group, { status: 'written' })
        return false
      }
      for (const s of spans) s.group.state = 'held'
      // a sender whose wait ended during the attempt is told now, and its rows leave the batch
      ;[rows, spans] = this.prune(rows, spans)
      if (rows.length === 0) return false
      if (this.isDataError(error)) return this.split(rows, spans, error, attempt, probe)
      if (this.isMisconfigured(error)) {
        // The store, or one row (a trigger raising 42501, say)? Rows that write alone say it was a row.
        if (probe) {
          if (isLeaf(rows, spans)) {
            probe.suspects.push({ rows, spans, error })
            return false
          }
          return this.split(rows, spans, error, attempt, probe)
        }
        // a whole batch costs a write per unit to probe: probe again only at doubling intervals
        const n = unprobed++
        if (!isLeaf(rows, spans) && (n & (n - 1)) === 0) {
          const p: Probe<R> = { wrote: false, suspects: [] }
          if (await this.split(rows, spans, error, attempt, p)) return true
          if (p.wrote) {
            for (const x of p.suspects) await this.split(x.rows, x.spans, x.error, attempt)
            return false
          }
          ;[rows, spans] = joinSuspects(p.suspects)
          if (rows.length === 0) return false
        }
      }
      this.counters.failed++
      if (Date.now() >= this.abandonAt) return true
      const delayMs = Math.max(0, this.backoff(attempt, previousMs))
      previousMs = delayMs
      attempt++
      this.failing = { retryAt: Date.now() + delayMs, delayMs }
      const misconfigured = this.isMisconfigured(error)
      this.warnLimited(
        misconfigured ? 'misconfigured' : 'write-failed',
        { err: errorText(error), code: errorCode(error), rows: rows.length, retryInMs: delayMs },
        misconfigured
          ? 'audit store is misconfigured (authentication, database, table, function or privilege); retrying until it is fixed'
          : 'audit batch write failed; retrying',
      )
      await this.sleep(delayMs)
      if (Date.now() >= this.abandonAt) return true
    }
  }

  /** A data error: halve the batch (never inside a request) until the bad event or request is alone, and reject it. */
  private async split(rows: R[], spans: Span<R>[], error: unknown, attempt: number, probe?: Probe<R>): Promise<boolean> {
    if (rows.length === 0) return false
    const whole = wholeGroup(rows, spans)
    if (whole) {
      this.refuse(whole, error)
      return false
    }
    if (rows.length === 1) {
      this.settle(1, 'rejected')
      this.reject(rows[0] as R, error)
      return false
    }
    let mid = rows.length >>> 1
    for (const s of spans) {
      if (s.start < mid && mid < s.end) {
        mid = s.start > 0 ? s.start : s.end
        break
      }
    }
    const left = spans.filter((s) => s.end <= mid)
    const right = spans.filter((s) => s.start >= mid).map((s) => ({ ...s, start: s.start - mid, end: s.end - mid }))
    return (await this.writeRows(rows.slice(0, mid), left, attempt, probe)) || (await this.writeRows(rows.slice(mid), right, attempt, probe))
  }

  /** Removes from a batch the requests that are settled (withdrawn, or told at shutdown), withdrawing those whose wait ended during the last attempt. */
  private prune(rows: R[], spans: Span<R>[]): [R[], Span<R>[]] {
    if (!spans.some((s) => s.group.expired || s.group.state === 'done')) return [rows, spans]
    for (const s of spans) {
      if (s.group.expired && s.group.state !== 'done') {
        if (!this.reported) this.inFlight -= s.group.rows.length
        this.withdrawn(s.group)
      }
    }
    const keptRows: R[] = []
    const keptSpans: Span<R>[] = []
    let from = 0
    for (const s of spans) {
      for (let i = from; i < s.start; i++) keptRows.push(rows[i] as R)
      from = s.end
      if (s.group.state === 'done') continue
      keptSpans.push({ group: s.group, start: keptRows.length, end: keptRows.length + (s.end - s.start) })
      for (let i = s.start; i < s.end; i++) keptRows.push(rows[i] as R)
    }
    for (let i = from; i < rows.length; i++) keptRows.push(rows[i] as R)
    return [keptRows, keptSpans]
  }

  /** The database refused a row of this request: none of it is written; its sender learns which row and why. */
  private refuse(group: Group<R>, error: unknown): void {
    const n = group.rows.length
    this.settle(n, 'rejected')
    if (!group.awaitCommit) {
      // an event acknowledged from memory (one row, see admit): rejected like a logged one
      for (const row of group.rows) this.reject(row, error)
      this.finish(group, { status: 'refused', index: 0, reason: errorText(error) })
      return
    }
    this.counters.rejected += n
    const reason = errorText(error)
    let index: number | null = n === 1 ? 0 : null
    if (index === null && this.opts.locate) {
      try {
        index = this.opts.locate(error, group.rows)
      } catch {
        index = null
      }
    }
    this.opts.log.error({ reason, events: n, index }, 'audit request refused by the database; none of its events were written')
    this.finish(group, { status: 'refused', index, reason })
  }

  /** Counts in-flight events as written or rejected; after shutdown reported them dropped, corrects that count. */
  private settle(n: number, outcome: 'written' | 'rejected'): void {
    if (outcome === 'written') this.counters.written += n
    if (this.reported) this.counters.dropped -= n
    else this.inFlight -= n
    this.admitWaiters()
  }

  private isDataError(err: unknown): boolean {
    try {
      return this.opts.isDataError(err)
    } catch {
      return false
    }
  }

  private isMisconfigured(err: unknown): boolean {
    try {
      return this.opts.isMisconfigured?.(err) ?? false
    } catch {
      return false
    }
  }

  /** Smooths one writer's rate (events/s) over the last writes, for Retry-After. */
  private noteRate(rows: number, ms: number): void {
    const rate = (rows * 1000) / Math.max(1, ms)
    this.writerRate = this.writerRate > 0 ? 0.8 * this.writerRate + 0.2 * rate : rate
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t)
        this.sleepers.delete(wake)
        resolve()
      }
      const t = setTimeout(wake, ms)
      this.sleepers.add(wake)
    })
  }

  private finishFlush(t0: number, rows: number): void {
    const ms = performance.now() - t0
    this.counters.lastFlushMs = ms
    this.hook(() => this.opts.onFlush?.(ms, rows))
  }

  /** Runs a caller's hook; one that throws is logged, never lets an event go unaccounted. */
  private hook(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.opts.log.error({ err: errorText(err) }, 'audit queue hook threw')
    }
  }

  private reject(item: T | R, err: unknown): void {
    this.counters.rejected++
    const reason = errorText(err)
    let event: object = { id: this.opts.idOf?.(item) }
    this.hook(() => {
      if (this.opts.describe) event = this.opts.describe(item)
    })
    this.opts.log.error({ reason, event }, 'audit event rejected')
    this.hook(() => this.opts.onReject?.(item, reason))
  }

  private warnLimited(key: string, obj: object, msg: string): void {
    const now = Date.now()
    const every = this.opts.warnEveryMs ?? 10_000
    const last = this.lastWarn.get(key)
    if (last && now - last.at < every) {
      last.suppressed++
      return
    }
    this.lastWarn.set(key, { at: now, suppressed: 0 })
    this.opts.log.warn({ ...obj, suppressed: last?.suppressed ?? 0 }, msg)
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message
  if (err && typeof err === 'object' && 'message' in err) return String(err.message)
  return String(err)
}

function errorCode(err: unknown): unknown {
  return err && typeof err === 'object' && 'code' in err ? err.code : undefined
}
