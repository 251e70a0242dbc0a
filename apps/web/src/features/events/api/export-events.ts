import { useQuery } from '@tanstack/react-query'
import { ApiError, apiFetch, apiJson, toQuery } from '../../../lib/api-client.ts'

export type ExportFormat = 'csv' | 'ndjson'
export interface ExportOptions {
  format: ExportFormat
  /** A UTF-8 byte-order mark in front of a CSV, for Excel. */
  bom: boolean
}
export interface ExportProgress {
  rows: number
  total: number
}

const exportUrl = (filters: Record<string, string | undefined>, o: ExportOptions) =>
  `/api/v1/audit/events/export${toQuery({ ...filters, format: o.format, bom: o.format === 'csv' && o.bom ? 'true' : undefined })}`

/**
 * What an export of these filters would hold, asked with HEAD when the dialog
 * opens: the exact row count and the server's file name (range and filters).
 */
export function useExportPreview(filters: Record<string, string | undefined>, opened: number) {
  return useQuery({
    queryKey: ['audit-events', 'export-head', filters, opened],
    queryFn: async () => {
      try {
        const res = await apiFetch(exportUrl(filters, { format: 'csv', bom: false }), { method: 'HEAD' })
        const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'audit-events.csv'
        return { total: Number(res.headers.get('x-total-count') ?? 0), name: name.replace(/\.csv$/, '') }
      } catch (e) {
        // a HEAD answer has no body to say why: 422 is the only refusal it can be
        if (e instanceof ApiError && e.status === 422) throw new ApiError(422, 'More events match than can be exported at once (AUDIT_EXPORT_MAX_ROWS): narrow the filters')
        throw e
      }
    },
    staleTime: Infinity,
    gcTime: 0,
  })
}

/** Counts the lines that pass, for progress. */
function lineCounter(onLines: (n: number) => void) {
  let n = 0
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const byte of chunk) if (byte === 10) n++
      onLines(n)
      controller.enqueue(chunk)
    },
  })
}

interface SaveFilePicker {
  showSaveFilePicker?: (o: { suggestedName: string; types?: { description: string; accept: Record<string, string[]> }[] }) => Promise<FileSystemFileHandle>
}

/** Whether the browser can stream a download straight into a file the user picks. */
export const canPickFile = () => typeof (window as unknown as SaveFilePicker).showSaveFilePicker === 'function'

/**
 * Streams the export into a file the user picks (File System Access API):
 * the rows go from the network to the disk and never gather in the tab.
 * Aborting `signal` stops the download and discards the partial file.
 * Call it from the click itself: the picker needs the user's gesture.
 */
export async function exportToFile(
  filters: Record<string, string | undefined>,
  o: ExportOptions,
  name: string,
  total: number,
  onProgress: (p: ExportProgress) => void,
  signal: AbortSignal,
): Promise<{ rows: number; name: string } | null> {
  const picker = (window as unknown as SaveFilePicker).showSaveFilePicker
  if (!picker) throw new Error('This browser cannot save straight to a file')
  let handle: FileSystemFileHandle
  try {
    handle = await picker({
      suggestedName: name,
      types: [o.format === 'csv' ? { description: 'CSV', accept: { 'text/csv': ['.csv'] } } : { description: 'NDJSON', accept: { 'application/x-ndjson': ['.ndjson'] } }],
    })
  } catch (e) {
    if ((e as Error).name === 'AbortError') return null // the picker was dismissed
    throw e
  }
  const res = await apiFetch(exportUrl(filters, o), { signal })
  if (!res.body) throw new Error('The export response has no body')
  const rowsOf = (lines: number) => Math.max(0, o.format === 'csv' ? lines - 1 : lines)
  let lines = 0
  const writable = await handle.createWritable()
  await res.body
    .pipeThrough(
      lineCounter((n) => {
        lines = n
        onProgress({ rows: rowsOf(n), total })
      }),
    )
    .pipeTo(writable, { signal })
  return { rows: rowsOf(lines), name: handle.name }
}

/**
 * Where the browser cannot write to a file: asks the server for a short-lived,
 * single-use signed link to this export and hands it to the browser, whose
 * download manager streams it to disk (with its own progress and cancel).
 * Nothing gathers in the tab, and the API key is not in the URL.
 */
export async function exportByLink(filters: Record<string, string | undefined>, o: ExportOptions, name: string, total: number): Promise<{ rows: number; name: string }> {
  const { url } = await apiJson<{ url: string; expires_at: string }>(exportUrl(filters, o).replace('/export', '/export/link'), { method: 'POST' })
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  return { rows: total, name }
}
