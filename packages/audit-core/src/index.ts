/**
 * `@audit/core`: the audit logger, its settings and request context, the
 * event schema, and `openStore`, which loads the store it opens on demand.
 * Each store has its own entry (`@audit/core/postgres`, `/pglite`,
 * `/supabase`), as each HTTP framework does (`/hono`, `/express`, `/fastify`).
 */

// The logger
export { createAuditLogger } from './logger.ts'
export type { AuditLogger, AuditLoggerOptions, IngestOptions, IngestOutcome, LogEventInput, OperationInput, OperationHandle } from './logger.ts'
export type { QueueStats, ShutdownReport, QueueLog, SubmitOutcome } from './queue/batch-queue.ts'
export { fullJitter, decorrelatedJitter, exponential } from './queue/backoff.ts'
export type { Backoff, BackoffOptions } from './queue/backoff.ts'
export { newEventId, uuid7Time } from './uuid7.ts'

// Settings and request context
export { loadConfig, STORE_KINDS, DEFAULT_EXPORT_CONNECTIONS, DEFAULT_READ_CONNECTIONS } from './config.ts'
export type { AuditConfig, StoreChoice } from './config.ts'
export { runWithAuditContext, getAuditContext } from './context.ts'
export type { AuditContext } from './context.ts'

// The event
export {
  ACTOR_TYPES,
  EVENT_COLUMNS,
  EventInputSchema,
  LIMITS,
  OPERATION_TYPES,
  RESULTS,
  SEVERITIES,
  SOURCES,
  severityForResult,
} from './schema/event.ts'
export type { ActorType, AuditEvent, ColumnName, EventInput, EventRow, Result, Severity } from './schema/event.ts'

// Queries (the HTTP API's query parameters, and what a store answers)
export { FilterParamsShape, ListParamsSchema, extraFilters, queryParams, toFilters } from './schema/query.ts'
export type { EventFilters, EventPage, EventQuery, EventStats, HistogramBucket, ListParams, SortOrder, StatsQuery } from './schema/query.ts'

// Stores
export { openStore } from './stores/open-store.ts'
export { deleteInChunks, maintainPartitions, runOncePerCluster } from './stores/store.ts'
export type { AuditStore, PartitionDrop, PartitioningStatus, StoreKind, TrailStore } from './stores/store.ts'

// Exports
export { CSV_HEADER, eventsToCsv, eventsToNdjson, jsonbText } from './csv.ts'

// Errors
export { ConfigError } from './config.ts'
export { RejectedEventError } from './queue/batch-queue.ts'
export { StoreUnavailableError } from './stores/store.ts'
export { MissingDriverError } from './stores/driver.ts'
export { SchemaVersionError } from './stores/migrate.ts'
export { DataDirLockedError } from './stores/data-dir-lock.ts'

// The trail: tamper evidence that anyone can verify offline
export { jcs } from './trail/jcs.ts'
export { ERASABLE_FIELDS, fieldHash, leafOf, leafText } from './trail/leaf.ts'
export { checkpointHash, keyId, loadKey, signCheckpoint, signatureValid, signedMessage } from './trail/signing.ts'
export type { Checkpoint, SignedCheckpoint } from './trail/signing.ts'
export { verifyTrail } from './trail/verify.ts'
export type { TrailInput, TrailProblem, TrailProblemKind, TrailReport } from './trail/verify.ts'
export { exportedEvents, openDatabaseTrail, readCheckpointsFile, readDatabaseTrail, readStoreTrail, storeCheckpoints } from './trail/sources.ts'
export type { TrailQueryable } from './trail/sources.ts'
