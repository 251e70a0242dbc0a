/** What a queue tells about itself; `enqueued = written + dropped + rejected + queueDepth` whenever no write is in flight. */
export interface QueueStats {
  /** Every event offered to the queue (or written directly in sync mode), dropped ones included. */
  enqueued: number
  /** Acknowledged by the store. */
  written: number
  /** Write attempts that failed for a transient reason (each was retried). */
  failed: number
  /** Events sent again after such a failure. */
  retried: number
  /** Lost: refused because the queue was full, or still unwritten when a shutdown deadline passed. */
  dropped: number
  /** Refused for their data, by validation or by the database (logged with the reason). */
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
  /** Events held at most, counting those being written. */
  capacity: number
  batchSize: number
  flushIntervalMs: number
  retryBaseMs: number
  retryMaxMs: number
  /** Validates and converts one event off the caller's path; throws to reject it. */
  prepare: (item: T) => R
  /** Writes one batch; must be idempotent (a retried batch may have been written). */
  write: (rows: R[]) => Promise<unknown>
  /** True when the error is about the rows' data: the batch is split to isolate the bad row. */
  isDataError: (err: unknown) => boolean
  /** Batches written at the same time (default 1). Each has its own retries; events are not ordered across batches. */
  concurrency?: number
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
}

/** Thrown by `prepare` to reject an event with a reason. */
export class RejectedEventError extends Error {
  override name = 'RejectedEventError'
}

/**
 * A bounded in-memory queue written in batches off the caller's path.
 *
 * - `enqueue` is O(1): no I/O, no serialization; a full queue drops the new
 *   event, counts it and warns (rate-limited).
 * - A batch is written when `batchSize` are queued or `flushIntervalMs` after
 *   the first one arrived (timer unref'd); up to `concurrency` batches are
 *   written at once (the rows of one are validated while another is written).
 * - A transient failure keeps the batch (it still holds its room in the
 *   queue) and retries it with exponential backoff; a data error splits the
 *   batch until the bad event is alone, which is rejected while the rest are
 *   written.
 */
export class BatchQueue<T, R> {
  private items: T[] = []
  /** Events taken off `items` by a writer and not yet written or rejected. */
  private inFlight = 0
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

  constructor(private readonly opts: BatchQueueOptions<T, R>) {}

  get depth(): number {
    return this.items.length + this.inFlight
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
    if (this.items.length >= this.opts.batchSize) {
      if (!this.drainScheduled && this.writers.size < this.concurrency) {
        this.drainScheduled = true
        setImmediate(() => {
          this.drainScheduled = false
          this.startWriters(false)
        })
      }
    } else if (!this.timer && this.writers.size === 0) {
      this.armTimer()
    }
    return true
  }

  /**
   * Queues all of `items` or none: false (nothing counted) when the queue has
   * no room for every one of them, so the sender can be told to retry.
   */
  enqueueAll(items: readonly T[]): boolean {
    if (this.closed || this.depth + items.length > this.opts.capacity) return false
    for (const item of items) this.enqueue(item)
    return true
  }

  /**
   * Writes already-prepared rows now, as one batch, and throws what the store
   * throws: for a caller that reports the outcome itself (sync ingest). The
   * rows count as enqueued and written only when the write succeeds.
   */
  async writeBatchNow(rows: R[]): Promise<void> {
    const t0 = performance.now()
    await this.opts.write(rows)
    this.counters.enqueued += rows.length
    this.counters.written += rows.length
    this.finishFlush(t0, rows.length)
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
    while ((this.items.length > 0 || this.writers.size > 0) && Date.now() < this.abandonAt) {
      this.forceDrain = true
      this.startWriters(true)
      await Promise.all(this.writers)
    }
  }

  /**
   * Stops accepting events and writes what is queued within `deadlineMs`.
   * What is still unwritten then is counted as dropped and reported.
   */
  async shutdown({ deadlineMs }: { deadlineMs: number }): Promise<ShutdownReport> {
    const writtenBefore = this.counters.written
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
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
    this.reported = true
    if (unwritten > 0) {
      this.counters.dropped += unwritten
      this.items = []
      this.inFlight = 0
      this.opts.log.error({ unwritten, deadlineMs }, 'audit queue shut down with events it could not write')
    }
    return { written: this.counters.written - writtenBefore, unwritten }
  }

  private get concurrency(): number {
    return Math.max(1, this.opts.concurrency ?? 1)
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
   * `partial` also sends a batch smaller than `batchSize` (interval or flush).
   */
  private startWriters(partial: boolean): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    while (
      this.writers.size < this.concurrency &&
      (this.items.length >= this.opts.batchSize || (partial && this.items.length > 0))
    ) {
      const writer: Promise<void> = this.writeBatches()
        .catch((err: unknown) => {
          // A bug must not kill the process; the rows it held are reported by the counters.
          this.opts.log.error({ err: errorText(err), queueDepth: this.depth }, 'audit queue flush failed unexpectedly')
        })
        .finally(() => {
          this.writers.delete(writer)
          if (this.writers.size > 0) return
          this.forceDrain = false
          if (this.items.length === 0 || this.closed) return
          // Left: a full batch (write it now), or a partial one (wait for more, or for the interval).
          if (this.items.length >= this.opts.batchSize) setImmediate(() => this.startWriters(false))
          else if (!this.timer) this.armTimer()
        })
      this.writers.add(writer)
    }
  }

  /** One writer: takes a batch, writes it, and goes on while full batches (or, when flushing, any) are waiting. */
  private async writeBatches(): Promise<void> {
    do {
      const batch = this.items.splice(0, this.opts.batchSize)
      this.inFlight += batch.length
      const t0 = performance.now()
      const rows: R[] = []
      for (const item of batch) {
        try {
          rows.push(this.opts.prepare(item))
        } catch (err) {
          this.settle(1, 'rejected')
          this.reject(item, err)
        }
      }
      if (await this.writeRows(rows, 0)) return // shut down past its deadline; shutdown() reports the rest
      this.finishFlush(t0, rows.length)
    } while (this.items.length >= this.opts.batchSize || (this.forceDrain && this.items.length > 0))
  }

  /** Returns true when it gave up because the shutdown deadline passed. */
  private async writeRows(rows: R[], attempt: number): Promise<boolean> {
    if (rows.length === 0) return false
    for (;;) {
      try {
        await this.opts.write(rows)
        this.settle(rows.length, 'written')
        return false
      } catch (err) {
        if (this.isDataError(err)) {
          if (rows.length === 1) {
            this.settle(1, 'rejected')
            this.reject(rows[0] as R, err)
            return false
          }
          const mid = rows.length >>> 1
          return (await this.writeRows(rows.slice(0, mid), attempt)) || (await this.writeRows(rows.slice(mid), attempt))
        }
        this.counters.failed++
        if (Date.now() >= this.abandonAt) return true
        const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** attempt)
        attempt++
        this.warnLimited('write-failed', { err: errorText(err), rows: rows.length, retryInMs: delay }, 'audit batch write failed; retrying')
        await this.sleep(delay)
        if (Date.now() >= this.abandonAt) return true
        this.counters.retried += rows.length
      }
    }
  }

  /** Counts in-flight events as written or rejected; after shutdown reported them dropped, corrects that count. */
  private settle(n: number, outcome: 'written' | 'rejected'): void {
    if (outcome === 'written') this.counters.written += n
    if (this.reported) this.counters.dropped -= n
    else this.inFlight -= n
  }

  private isDataError(err: unknown): boolean {
    try {
      return this.opts.isDataError(err)
    } catch {
      return false
    }
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
    this.opts.log.error({ reason, event: item }, 'audit event rejected')
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
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message)
  return String(err)
}
