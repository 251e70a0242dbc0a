import { queryOptions, useQuery } from '@tanstack/react-query'
import { apiJson } from '../../../lib/api-client.ts'

export interface Me {
  name: string
  role: 'ingest' | 'read' | 'admin'
}

export const getMe = () => apiJson<Me>('/api/v1/audit/me')
export const meQueryOptions = () => queryOptions({ queryKey: ['audit-events', 'me'], queryFn: getMe, staleTime: Infinity })
export const useMe = () => useQuery(meQueryOptions())
