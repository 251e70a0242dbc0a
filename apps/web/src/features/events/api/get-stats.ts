import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query'
import type { EventStats } from '@audit/core/schema'
import { apiJson, toQuery } from '../../../lib/api-client.ts'

export const getStats = (params: Record<string, string | undefined>) => apiJson<EventStats>(`/api/v1/audit/stats${toQuery(params)}`)

export const statsQueryOptions = (params: Record<string, string | undefined>) =>
  queryOptions({ queryKey: ['audit-events', 'stats', params], queryFn: () => getStats(params), placeholderData: keepPreviousData })

export function useStats(params: Record<string, string | undefined>, refetchInterval: number | false) {
  return useQuery({ ...statsQueryOptions(params), refetchInterval, refetchIntervalInBackground: false })
}
