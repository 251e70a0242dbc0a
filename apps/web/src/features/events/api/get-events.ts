import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query'
import type { AuditEvent } from '@audit/core/schema'
import { apiJson, toQuery } from '../../../lib/api-client.ts'

export interface EventsPage {
  events: AuditEvent[]
  total: number
  /** False when `total` is the server's estimate (more than AUDIT_COUNT_CAP match). */
  total_exact: boolean
  limit: number
  offset: number
  has_more: boolean
}

export type EventsParams = Record<string, string | number | undefined> & { limit: number; offset: number }

export const getEvents = (params: EventsParams) => apiJson<EventsPage>(`/api/v1/audit/events${toQuery(params)}`)

export const eventsQueryOptions = (params: EventsParams) =>
  queryOptions({
    queryKey: ['audit-events', 'list', params],
    queryFn: () => getEvents(params),
    // the previous page stays on screen while the next one loads
    placeholderData: keepPreviousData,
  })

export function useEvents(params: EventsParams, refetchInterval: number | false) {
  return useQuery({ ...eventsQueryOptions(params), refetchInterval, refetchIntervalInBackground: false })
}
