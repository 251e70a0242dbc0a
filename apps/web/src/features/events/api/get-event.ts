import { queryOptions, useQuery } from '@tanstack/react-query'
import type { AuditEvent } from '@audit/core/schema'
import { apiJson } from '../../../lib/api-client.ts'

export const getEvent = (id: string) => apiJson<AuditEvent>(`/api/v1/audit/events/${encodeURIComponent(id)}`)

export const eventQueryOptions = (id: string) => queryOptions({ queryKey: ['audit-events', 'detail', id], queryFn: () => getEvent(id), staleTime: Infinity })

export function useEvent(id: string | undefined, initial?: AuditEvent) {
  return useQuery({ ...eventQueryOptions(id ?? ''), enabled: Boolean(id), ...(initial ? { initialData: initial } : {}) })
}
