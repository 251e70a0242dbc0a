import { OpenAPIHono, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import { FilterParamsShape, extraFilters, queryParams, toFilters, type AuditStore } from '@audit/core'
import { ApiError } from '../errors.ts'
import { defaultHook } from '../validation.ts'
import { ErrorSchema } from '../schemas.ts'
import type { AuthOptions } from '../auth.ts'
import { ERRORS, defineRoute, guarded, retryAfter } from '../openapi.ts'
import { TAIL_LOOKBACK_MS, liveTail, type LiveStreams } from '../live-tail.ts'

export interface StreamDeps {
  store: AuditStore
  auth: AuthOptions
  streams: LiveStreams
  /** Events one stream sends per second at most; the rest are counted in a `dropped` message. */
  maxPerSecond: number
  pollMs?: number
  heartbeatMs?: number
}

export const STREAM_DEFAULTS = { maxPerSecond: 50, pollMs: 1_000, heartbeatMs: 15_000, maxStreams: 32 } as const

const StreamParams = queryParams({ ...FilterParamsShape }, { extra: true })

const route = defineRoute({
  method: 'get',
  path: '/',
  role: 'read',
  operationId: 'streamEvents',
  tag: 'events',
  summary: 'Live tail of new events (server-sent events)',
  description: [
    'A `text/event-stream` of the events that match the filters (the same as the list\'s), sent as they are committed, oldest first. Each is a `message` event: `data` is the event as the list gives it, `id` its id.',
    `The server looks for new events every second with one short query, from ${TAIL_LOOKBACK_MS / 1000} s before the newest event it has sent (so an event committed a little after a newer one is still sent); nothing is held on the database between looks. An event whose timestamp is older than that when it is committed (a backfill) is not sent.`,
    `At most ${STREAM_DEFAULTS.maxPerSecond} events a second are sent; past that, a \`dropped\` event says how many were left out (\`{"dropped": n}\`): list them with GET /api/v1/audit/events.`,
    `A comment line (\`: heartbeat\`) every ${STREAM_DEFAULTS.heartbeatMs / 1000} s keeps proxies from closing an idle stream. After a break, send the id of the last event received as \`Last-Event-ID\` to go on after it; without it, the stream begins with events committed from now on.`,
    `At most ${STREAM_DEFAULTS.maxStreams} streams are open at once (503 past that). Streams end when the server shuts down; reconnect then.`,
  ].join('\n\n'),
  request: {
    query: StreamParams,
    headers: z.object({
      'last-event-id': z.string().optional().openapi({ description: 'The id of the last event received: the stream goes on after it', example: '0190a0b0-0000-7000-8000-000000000001' }),
    }),
  },
  responses: {
    200: {
      description: 'The stream: `message` events (an event each), `dropped` events, heartbeat comments',
      content: {
        'text/event-stream': {
          schema: z.string(),
          example: 'retry: 2000\n\nid: 0190a0b0-0000-7000-8000-000000000001\ndata: {"id":"0190a0b0-0000-7000-8000-000000000001","result":"failure",…}\n\nevent: dropped\ndata: {"dropped":12}\n\n: heartbeat\n\n',
        },
      },
    },
    422: ERRORS[422]({ loc: ['query', 'result'], msg: "Input should be 'success', 'failure' or 'warning'", type: 'enum' }),
    503: {
      description: 'Too many streams are open, or the server is shutting down; retry after `Retry-After` seconds',
      content: { 'application/json': { schema: ErrorSchema, example: { detail: 'Too many live streams are open; retry later' } } },
      headers: retryAfter('Seconds to wait before retrying'),
    },
  },
})

/** GET /api/v1/audit/events/stream */
export function streamRoutes(deps: StreamDeps) {
  const app = new OpenAPIHono({ defaultHook })
  const pollMs = deps.pollMs ?? STREAM_DEFAULTS.pollMs
  const heartbeatMs = deps.heartbeatMs ?? STREAM_DEFAULTS.heartbeatMs
  const perPoll = Math.max(1, Math.round((deps.maxPerSecond * pollMs) / 1000))
  app.openapi(guarded(route, deps.auth), async (c) => {
    const p = c.req.valid('query')
    const tail = liveTail(deps.store, toFilters(p, extraFilters(p)), perPoll)
    let wake: (() => void) | undefined
    let stopped = false
    const isStopped = () => stopped // read after an await: stop() may have run meanwhile
    const stop = () => {
      stopped = true
      wake?.()
    }
    if (!deps.streams.add(stop)) throw new ApiError(503, 'Too many live streams are open, or the server is stopping; retry later', { 'Retry-After': '5' })
    try {
      await tail.start(c.req.valid('header')['last-event-id'])
    } catch (e) {
      deps.streams.remove(stop)
      throw e
    }
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    return streamSSE(c, async (sse) => {
      sse.onAbort(stop)
      try {
        await sse.write('retry: 2000\n\n')
        let quiet = 0
        while (!stopped) {
          await sleep(pollMs)
          if (isStopped()) break
          let sent = false
          try {
            const { events, dropped } = await tail.poll()
            for (const e of events) await sse.writeSSE({ id: e.id, data: JSON.stringify(e) })
            if (dropped > 0) await sse.writeSSE({ event: 'dropped', data: JSON.stringify({ dropped }) })
            sent = events.length > 0 || dropped > 0
          } catch {
            // the store is away: say so, and look again at the next poll
            await sse.writeSSE({ event: 'unavailable', data: JSON.stringify({ detail: 'The audit store is unavailable; the stream goes on when it is back' }) })
            sent = true
          }
          quiet = sent ? 0 : quiet + pollMs
          if (quiet >= heartbeatMs) {
            await sse.write(': heartbeat\n\n')
            quiet = 0
          }
        }
      } finally {
        deps.streams.remove(stop)
      }
    })
  })
  return app
}
