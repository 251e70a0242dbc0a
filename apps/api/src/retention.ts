import { SEVERITIES, deleteInChunks, runOncePerCluster, type AuditLogger, type AuditStore, type PartitionDrop, type Severity } from '@audit/core'

/** Days to keep each severity; 0 keeps forever. */
export type RetentionPolicy = Record<Severity, number>

/** Keep everything: an audit trail is deleted only when its owner asks (AUDIT_RETENTION_DAYS). */
export const DEFAULT_RETENTION = ''

/**
 * Parses AUDIT_RETENTION_DAYS: `severity:days,...` (severities it leaves out
 * are kept forever), or one number of days for every severity. Empty: keep
 * everything.
 */
export function parseRetention(spec: string): RetentionPolicy {
  const policy = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as RetentionPolicy
  if (/^\s*\d+\s*$/.test(spec)) {
    for (const s of SEVERITIES) policy[s] = Number(spec)
    return policy
  }
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [sev, days] = part.split(':')
    const n = Number(days)
    if (!SEVERITIES.includes(sev as Severity) || !Number.isInteger(n) || n < 0) {
      throw new Error(`AUDIT_RETENTION_DAYS: "${part}" is not severity:days (severities ${SEVERITIES.join(', ')}; days a whole number, 0 = forever)`)
    }
    policy[sev as Severity] = n
  }
  return policy
}

export interface RetentionReport {
  deleted: Record<Severity, number>
  total: number
  duration_ms: number
}

/**
 * Deletes the events older than their severity's retention: where the
 * table is partitioned and every severity expires, whole partitions past
 * the longest retention are dropped (recorded in the trail as deleted
 * rows); the rest row by row, in bounded chunks. Recorded itself as an
 * `audit_retention` event (source `system`).
 */
export async function runRetention(store: AuditStore, audit: AuditLogger, policy: RetentionPolicy, now = Date.now()): Promise<RetentionReport> {
  const t0 = performance.now()
  return audit.auditOperation({ source: 'system', operationType: 'audit_retention', actorType: 'system', message: 'Retention run' }, async (op) => {
    const deleted = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>
    // Whole partitions first, where every severity expires: a partition whose
    // end is past the longest retention holds only expired rows.
    let partitions: string[] = []
    if (store.dropPartitions && SEVERITIES.every((s) => policy[s] > 0)) {
      const longest = Math.max(...SEVERITIES.map((s) => policy[s]))
      for (;;) {
        let dropped: PartitionDrop
        try {
          dropped = await store.dropPartitions(new Date(now - longest * 86_400_000), `retention: every severity older than ${longest} days (whole partitions)`)
        } catch (err) {
          // The table was held longer than the drop waits (a long export): the rows below go row by row instead.
          if (!isLockTimeout(err)) throw err
          op.extraInfo.partitions_not_dropped = 'the table was busy (lock timeout): expired rows deleted row by row'
          break
        }
        if (dropped.partitions.length === 0) break
        for (const [severity, n] of Object.entries(dropped.deleted)) {
          if (severity in deleted) deleted[severity as Severity] += n
        }
        partitions = [...partitions, ...dropped.partitions]
      }
    }
    for (const severity of SEVERITIES) {
      const days = policy[severity]
      if (days <= 0) continue
      const cutoff = now - days * 86_400_000
      deleted[severity] += await deleteInChunks(store, { severity: [severity], end_date: new Date(cutoff - 1).toISOString() }, undefined, `retention: ${severity} older than ${days} days`)
    }
    const total = Object.values(deleted).reduce((a, b) => a + b, 0)
    op.extraInfo.deleted = deleted
    op.extraInfo.total = total
    op.extraInfo.policy_days = policy
    if (partitions.length > 0) op.extraInfo.partitions_dropped = partitions
    op.set({ message: `Retention run deleted ${total} events` })
    return { deleted, total, duration_ms: Math.round((performance.now() - t0) * 1000) / 1000 }
  })
}

/** A lock timeout (55P03), as the driver raised it or inside the store's StoreUnavailableError. */
function isLockTimeout(err: unknown): boolean {
  const code = (e: unknown) => (e as { code?: unknown } | undefined)?.code
  return code(err) === '55P03' || code((err as { cause?: unknown } | undefined)?.cause) === '55P03'
}

/** Whether the policy ever deletes anything. */
export function deletesAnything(policy: RetentionPolicy): boolean {
  return Object.values(policy).some((d) => d > 0)
}

/** The advisory lock a scheduled run holds, so that one replica of a cluster runs it. */
export const RETENTION_LOCK = 'audit_events.retention'

/**
 * The scheduled run: once per cluster. On Postgres, the replica that takes
 * the advisory lock runs it and the others skip; a replica whose timer fires
 * after the run ended (clocks differ) skips too, as the run's own event,
 * written before the lock is released, says it was done within the hour.
 */
export async function runScheduledRetention(store: AuditStore, audit: AuditLogger, policy: RetentionPolicy, now = Date.now()): Promise<RetentionReport | null> {
  const run = async () => {
    const recent = await store.queryEvents({
      filters: { operation_type: ['audit_retention'], source: ['system'], start_date: new Date(now - 3_600_000).toISOString() },
      limit: 1,
      withTotal: false,
    })
    if (recent.events.length > 0) return null
    const report = await runRetention(store, audit, policy, now)
    await audit.flush()
    return report
  }
  return (await runOncePerCluster(store, RETENTION_LOCK, run)) ?? null
}

/** A time of day, UTC; `second` only when the schedule names one. */
export interface DailyTime {
  hour: number
  minute: number
  second?: number
}

/** Parses AUDIT_RETENTION_SCHEDULE: `HH:MM` or `HH:MM:SS` (UTC), or `off`. */
export function parseSchedule(spec: string): DailyTime | null {
  if (spec.trim().toLowerCase() === 'off') return null
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(spec.trim())
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) {
    throw new Error(`AUDIT_RETENTION_SCHEDULE must be HH:MM or HH:MM:SS (UTC), or off, got "${spec}"`)
  }
  return { hour: Number(m[1]), minute: Number(m[2]), ...(m[3] === undefined ? {} : { second: Number(m[3]) }) }
}

/** Milliseconds from `now` to the next `hour:minute[:second]` UTC. */
export function msUntil(at: DailyTime, now: number): number {
  const d = new Date(now)
  let next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), at.hour, at.minute, at.second ?? 0)
  if (next <= now) next += 86_400_000
  return next - now
}

/** Runs `job` every day at `at` UTC (timer unref'd). Returns a function that stops it. */
export function scheduleDaily(at: DailyTime, job: () => Promise<unknown>, onError: (err: unknown) => void): () => void {
  let timer: NodeJS.Timeout
  const arm = () => {
    timer = setTimeout(() => {
      void job().catch(onError).finally(arm)
    }, msUntil(at, Date.now()))
    timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}
