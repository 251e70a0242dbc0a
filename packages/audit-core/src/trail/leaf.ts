import { createHash } from 'node:crypto'
import type { AuditEvent } from '../schema/event.ts'
import { jcs } from './jcs.ts'
import { utcMicros } from './timestamp.ts'

/** Columns the leaf commits to by their hash, so that they can be erased (audit_erase_event) while the commitment stays. */
export const ERASABLE_FIELDS = ['operator', 'message', 'extra_info', 'ip_address', 'user_agent'] as const
export type ErasableField = (typeof ERASABLE_FIELDS)[number]

/** Hex sha256 of a string's UTF-8 bytes, or of raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The commitment to one erasable field: the sha256 of its text (extra_info: of its JCS form), or null. */
export function fieldHash(field: ErasableField, value: unknown): string | null {
  if (value === null || value === undefined) return null
  return sha256Hex(field === 'extra_info' || typeof value !== 'string' ? jcs(value) : value)
}

/**
 * What a row's leaf hashes: its columns by name, each erasable column as its
 * {@link fieldHash} (or the hash recorded when it was erased), the timestamp
 * in UTC with microseconds. The database builds the same text
 * (audit_private.leaf).
 */
export function leafText(e: AuditEvent, erased?: Readonly<Record<string, string>>): string {
  const ts = utcMicros(e.timestamp)
  if (!ts) throw new Error(`event ${e.id}: timestamp "${e.timestamp}" is not ISO 8601`)
  const view: Record<string, unknown> = {
    actor_type: e.actor_type,
    id: e.id.toLowerCase(),
    operation_type: e.operation_type,
    request_id: e.request_id ?? null,
    resource_id: e.resource_id ?? null,
    resource_type: e.resource_type ?? null,
    result: e.result,
    severity: e.severity,
    source: e.source,
    tenant_id: e.tenant_id ?? null,
    timestamp: ts,
  }
  for (const f of ERASABLE_FIELDS) view[f] = erased?.[f] ?? fieldHash(f, e[f])
  return jcs(view)
}

/** A row's 32-byte leaf, as hex. */
export function leafOf(e: AuditEvent, erased?: Readonly<Record<string, string>>): string {
  return sha256Hex(leafText(e, erased))
}
