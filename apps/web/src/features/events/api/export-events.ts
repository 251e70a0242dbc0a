import { useMutation } from '@tanstack/react-query'
import { apiFetch, toQuery } from '../../../lib/api-client.ts'

export interface ExportProgress {
  rows: number
  total: number
}

/**
 * Downloads every event that matches as CSV (made on the server with
 * the database or papaparse, formula cells neutralised), reporting rows received as it streams.
 */
export async function exportEvents(filters: Record<string, string | undefined>, onProgress: (p: ExportProgress) => void, signal?: AbortSignal) {
  const res = await apiFetch(`/api/v1/audit/events/export${toQuery({ ...filters, format: 'csv' })}`, signal ? { signal } : {})
  const total = Number(res.headers.get('x-total-count') ?? 0)
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'audit-events.csv'
  if (!res.body) throw new Error('The export response has no body')
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let lines = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    parts.push(value)
    for (const byte of value) if (byte === 10) lines++
    onProgress({ rows: Math.max(0, lines - 1), total })
  }
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: 'text/csv;charset=utf-8' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return { rows: Math.max(0, lines - 1), total, name }
}

export function useExportEvents(onProgress: (p: ExportProgress) => void) {
  return useMutation({ mutationFn: (filters: Record<string, string | undefined>) => exportEvents(filters, onProgress) })
}
