import { useEffect, useRef, useState } from 'react'
import { createParser } from 'eventsource-parser'
import type { AuditEvent } from '@audit/core/schema'
import { apiFetch, toQuery } from '../../../lib/api-client.ts'

/** Rows the page adds per second at most, whatever the server sends; the rest are counted. */
export const LIVE_UI_PER_SECOND = 20
/** Live rows kept on screen (newest first). */
const KEEP = 200
const FLUSH_MS = 250
const RECONNECT_MS = 2_000

export type LiveStatus = 'off' | 'connecting' | 'live' | 'paused' | 'error'

/**
 * Reads GET /api/v1/audit/events/stream (server-sent events, with the key in
 * the Authorization header, which EventSource cannot send). Calls `onEvent`
 * per event and `onDropped` with the server's counts; resolves when the
 * stream ends; rejects with ApiError on a refusal. `lastEventId` resumes.
 */
export async function readEventStream(
  filters: Record<string, string | undefined>,
  handlers: { onEvent: (e: AuditEvent, id: string | undefined) => void; onDropped: (n: number) => void; onOpen: () => void },
  signal: AbortSignal,
  lastEventId?: string,
): Promise<void> {
  const res = await apiFetch(`/api/v1/audit/events/stream${toQuery(filters)}`, { signal, headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} })
  handlers.onOpen()
  const parser = createParser({
    onEvent: (m) => {
      if (m.event === 'dropped') handlers.onDropped((JSON.parse(m.data) as { dropped: number }).dropped)
      else if (!m.event) handlers.onEvent(JSON.parse(m.data) as AuditEvent, m.id)
    },
  })
  if (!res.body) throw new Error('The stream has no body')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    parser.feed(value)
  }
}

/**
 * A live tail of the events matching `filters` (their time range aside: the
 * tail is about what is new). New events come first; at most
 * LIVE_UI_PER_SECOND rows a second are added and KEEP kept. Pausing closes
 * the stream; resuming opens it again after the last event shown, so the
 * server sends what came meanwhile (within its own rate cap).
 */
export function useLiveTail(filters: Record<string, string | undefined>, on: boolean, paused: boolean) {
  const [events, setEvents] = useState<AuditEvent[]>([])
  const [dropped, setDropped] = useState(0)
  const [status, setStatus] = useState<LiveStatus>('off')
  const lastId = useRef<string | undefined>(undefined)
  const { start_date: _s, end_date: _e, ...rest } = filters
  const key = JSON.stringify(rest)

  // a new filter, or switching off, starts a new tail
  const [tailOf, setTailOf] = useState(`${key}|${String(on)}`)
  if (tailOf !== `${key}|${String(on)}`) {
    setTailOf(`${key}|${String(on)}`)
    setEvents([])
    setDropped(0)
  }
  useEffect(() => {
    lastId.current = undefined
  }, [key, on])

  useEffect(() => {
    if (!on || paused) return
    const ctl = new AbortController()
    const buffer: AuditEvent[] = []
    const perFlush = Math.max(1, Math.round((LIVE_UI_PER_SECOND * FLUSH_MS) / 1000))
    const flush = setInterval(() => {
      if (buffer.length === 0) return
      const take = buffer.splice(0, perFlush)
      // what waits longer than a second is not live any more: count it instead
      if (buffer.length > LIVE_UI_PER_SECOND) setDropped((d) => d + buffer.splice(0).length)
      setEvents((old) => [...take.reverse(), ...old].slice(0, KEEP))
    }, FLUSH_MS)
    const aborted = () => ctl.signal.aborted
    const run = async () => {
      while (!aborted()) {
        setStatus('connecting')
        try {
          await readEventStream(
            JSON.parse(key) as Record<string, string | undefined>,
            {
              onOpen: () => setStatus('live'),
              onEvent: (e, id) => {
                buffer.push(e)
                if (id) lastId.current = id
              },
              onDropped: (n) => setDropped((d) => d + n),
            },
            ctl.signal,
            lastId.current,
          )
        } catch {
          if (aborted()) return
          setStatus('error')
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MS))
      }
    }
    void run()
    return () => {
      ctl.abort()
      clearInterval(flush)
    }
  }, [key, on, paused])

  return { events, dropped, status: on ? (paused ? 'paused' : status) : ('off' as LiveStatus) }
}
