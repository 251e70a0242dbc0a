import { maintainPartitions, runOncePerCluster, type AuditStore, type PartitioningStatus } from '@audit/core'

/** The advisory lock a maintenance run holds, so that one replica of a cluster runs it at a time. */
export const PARTITION_MAINTENANCE_LOCK = 'audit_events.partitions'

/** How often partitions are made ahead: hourly, well within the 7 days pg_partman premakes. */
export const PARTITION_MAINTENANCE_INTERVAL_MS = 3_600_000

/**
 * The start-up line about the events table: partitioned (by what, how far
 * ahead) or unpartitioned and why.
 *
 * @example
 * describePartitioning({ partitioned: false, manager: null, reason: 'pg_partman is not available' })
 * // 'events are unpartitioned: pg_partman is not available'
 */
export function describePartitioning(s: PartitioningStatus): string {
  if (!s.partitioned) return `events are unpartitioned: ${s.reason ?? 'no reason given'}`
  if (!s.manager) return `events are partitioned, but ${s.reason ?? 'not managed by pg_partman'}`
  return `events are partitioned by ${s.interval ?? 'time'} (${s.manager}): ${s.partitions ?? 0} partitions, made ahead to ${s.premade_until ?? 'unknown'}`
}

/**
 * Runs the partition maintenance now and then every `intervalMs` (timer
 * unref'd), once per cluster (the advisory lock; a replica that finds it
 * held skips). Returns a function that stops it.
 */
export function schedulePartitionMaintenance(store: AuditStore, onError: (err: unknown) => void, intervalMs = PARTITION_MAINTENANCE_INTERVAL_MS): () => void {
  if (!store.maintainPartitions) return () => {}
  const tick = () => void runOncePerCluster(store, PARTITION_MAINTENANCE_LOCK, () => maintainPartitions(store)).catch(onError)
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  tick()
  return () => clearInterval(timer)
}
