import { useMutation, useQueryClient } from '@tanstack/react-query'
import { apiJson, toQuery } from '../../../lib/api-client.ts'

export const deleteEvents = (filters: Record<string, string | undefined>) =>
  apiJson<{ deleted: number }>(`/api/v1/audit/events${toQuery({ ...filters, confirm: 'true' })}`, { method: 'DELETE' })

export function useDeleteEvents() {
  const qc = useQueryClient()
  return useMutation({ mutationFn: deleteEvents, onSuccess: () => qc.invalidateQueries({ queryKey: ['audit-events'] }) })
}
