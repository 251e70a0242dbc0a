import { AsyncLocalStorage } from 'node:async_hooks'
import type { ActorType } from './schema/event.ts'

/** What a request knows about itself; every event recorded inside it carries these. */
export interface AuditContext {
  requestId?: string
  operator?: string
  ipAddress?: string
  /** The raw X-Forwarded-For of a request whose client address could not be read from it (ipAddress is then absent). */
  forwardedFor?: string
  userAgent?: string
  tenantId?: string
  actorType?: ActorType
}

const storage = new AsyncLocalStorage<AuditContext>()

/**
 * Runs `fn` with `ctx` as the audit context of everything it records, however deep.
 *
 * @example
 * runWithAuditContext({ requestId: 'r-1', operator: 'ana@example.com' }, () => handle(req))
 */
export function runWithAuditContext<T>(ctx: AuditContext, fn: () => T): T {
  return storage.run(ctx, fn)
}

/** The audit context of the current async call chain, if any. */
export function getAuditContext(): AuditContext | undefined {
  return storage.getStore()
}
