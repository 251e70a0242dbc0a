import type { AuditEvent, AuditStore, EventFilters } from '@audit/core'

/** How far behind the newest event seen a poll looks again, for events committed after newer ones. */
export const TAIL_LOOKBACK_MS = 5_000
/** Rows one poll reads at most; past that it goes on from there at the next poll. */
const SCAN_LIMIT = 5_000
const PAGE = 1_000

/** (timestamp, id) order, the order of the list's keyset. */
function after(a: { t: number; id: string }, b: { t: number; id: string }): boolean {
  return a.t > b.t || (a.t === b.t && a.id > b.id)
}

/**
 * The new events matching `filters` since the last poll, for a live tail.
 * Each poll is one short query (or a few, at most SCAN_LIMIT rows) on the
 * store's pool: between polls nothing is held. Events are found by
 * (timestamp, id) from TAIL_LOOKBACK_MS before the newest one seen, and those
 * already sent are skipped, so an event committed a little after a newer one
 * (a queue's batch, a slow writer) is still sent; one whose timestamp is
 * older than that when it is committed (a backfill) is not.
 *
 * `start` without an id tails from now on; with the id of an event sent
 * before (SSE Last-Event-ID), it goes on after that event.
 *
 * @example
 * const tail = liveTail(store, { result: ['failure'] }, 50)
 * await tail.start()
 * const { events, dropped } = await tail.poll() // every second
 */
export function liveTail(store: AuditStore, filters: EventFilters, maxPerPoll: number, now: () => number = () => Date.now()) {
  // ids sent (or skipped at start) → their timestamp; forgotten once out of the window
  const seen = new Map<string, number>()
  let newest = now()
  let floor: { t: number; id: string } | undefined
  // where an interrupted scan goes on
  let resumeAfter: string | undefined

  async function scan(onRow: (e: AuditEvent, t: number) => void): Promise<void> {
    const since = newest - TAIL_LOOKBACK_MS
    const from = filters.start_date && Date.parse(filters.start_date) > since ? filters.start_date : new Date(since).toISOString()
    let cursor = resumeAfter
    let read = 0
    for (;;) {
      const page = await store.queryEvents({ filters: { ...filters, start_date: from }, limit: PAGE, order: 'asc', withTotal: false, ...(cursor ? { after: cursor } : {}) })
      for (const e of page.events) {
        const t = Date.parse(e.timestamp)
        onRow(e, t)
        if (t > newest) newest = t
      }
      read += page.events.length
      cursor = page.events.at(-1)?.id ?? cursor
      if (page.events.length < PAGE) {
        resumeAfter = undefined
        break
      }
      if (read >= SCAN_LIMIT) {
        resumeAfter = cursor
        break
      }
    }
    for (const [id, t] of seen) if (t < newest - TAIL_LOOKBACK_MS) seen.delete(id)
  }

  return {
    /** Where the tail begins: after the event `lastEventId` (when it still exists), else now. */
    async start(lastEventId?: string): Promise<void> {
      const last = lastEventId && /^[0-9a-f-]{36}$/i.test(lastEventId) ? await store.getEvent(lastEventId).catch(() => null) : null
      if (last) {
        floor = { t: Date.parse(last.timestamp), id: last.id }
        newest = floor.t
        return
      }
      // what is already there is not news
      let primed: { t: number; id: string } | undefined
      await scan((e, t) => {
        seen.set(e.id, t)
        primed = { t, id: e.id }
      })
      // more than one scan's worth in the window (a flood): what was not read is not news either
      if (resumeAfter && primed) {
        floor = primed
        resumeAfter = undefined
      }
    },
    /** The events committed since the last poll (at most `maxPerPoll`), and how many more there were. */
    async poll(): Promise<{ events: AuditEvent[]; dropped: number }> {
      const events: AuditEvent[] = []
      let dropped = 0
      await scan((e, t) => {
        if (seen.has(e.id) || (floor && !after({ t, id: e.id }, floor))) return
        seen.set(e.id, t)
        if (events.length < maxPerPoll) events.push(e)
        else dropped++
      })
      return { events, dropped }
    },
  }
}

/**
 * The live streams of a server, so that a shutdown can end them: a stream is
 * a request in progress, and the HTTP server waits for those before it exits.
 */
export function liveStreams(max: number) {
  const open = new Set<() => void>()
  let closed = false
  return {
    max,
    get count() {
      return open.size
    },
    /** Registers a stream's stop; false when the server is stopping or `max` streams are open. */
    add(stop: () => void): boolean {
      if (closed || open.size >= max) return false
      open.add(stop)
      return true
    },
    remove(stop: () => void) {
      open.delete(stop)
    },
    /** Ends every stream, and refuses new ones. */
    closeAll() {
      closed = true
      for (const stop of open) stop()
      open.clear()
    },
  }
}

export type LiveStreams = ReturnType<typeof liveStreams>
