import { queryOptions, useQuery } from '@tanstack/react-query'
import type { TrailReport } from '@audit/core'
import { apiJson } from '../../../lib/api-client.ts'

/** GET /api/v1/audit/verify (admin): the trail's check, as the library's verifier reports it. */
export const getVerify = () => apiJson<TrailReport>('/api/v1/audit/verify')
// the check reads every event: run it when asked, and keep the answer for ten minutes
export const verifyQueryOptions = () => queryOptions({ queryKey: ['audit-trail', 'verify'], queryFn: getVerify, staleTime: 10 * 60_000, retry: false })
export const useVerify = (enabled: boolean) => useQuery({ ...verifyQueryOptions(), enabled })
