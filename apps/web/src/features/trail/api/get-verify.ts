import { queryOptions, useQuery } from '@tanstack/react-query'
import { apiJson } from '../../../lib/api-client.ts'

/** GET /api/v1/audit/verify (admin): the trail's check. */
export interface TrailReport {
  intact: boolean
  events: number
  checkpoints: number
  deleted: number
  erased: number
  last_checkpoint: { seq: number; hash: string; created_at: string } | null
  last_signed: { seq: number; hash: string; signed_at: string; key_id: string; verified: boolean | null } | null
  problems: { kind: string; seq: number | null; position?: number; id?: string; message: string }[]
  duration_ms: number
}

export const getVerify = () => apiJson<TrailReport>('/api/v1/audit/verify')
// the check reads every event: run it when asked, and keep the answer for ten minutes
export const verifyQueryOptions = () => queryOptions({ queryKey: ['audit-trail', 'verify'], queryFn: getVerify, staleTime: 10 * 60_000, retry: false })
export const useVerify = (enabled: boolean) => useQuery({ ...verifyQueryOptions(), enabled })
