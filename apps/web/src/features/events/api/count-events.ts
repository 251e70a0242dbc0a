import { useQuery } from '@tanstack/react-query'
import { getStats } from './get-stats.ts'

/**
 * The exact number of events the filters match, counted once for the dialog
 * that asks (`/stats` counts every match; the list's total is an estimate past
 * AUDIT_COUNT_CAP). `opened` keys the count to that dialog, so it is never
 * an older dialog's answer.
 */
export function useExactCount(filters: Record<string, string | undefined>, opened: number) {
  return useQuery({
    queryKey: ['audit-events', 'count', filters, opened],
    queryFn: async () => (await getStats({ ...filters, bucket: 'day' })).total,
    staleTime: Infinity,
    gcTime: 0,
  })
}
