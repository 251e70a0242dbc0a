/**
 * `@audit/core/testing`: helpers for testing code that records or reads
 * events (seeded data, a reference implementation of the filters, a fresh
 * database per test file) and the conformance suite every store passes
 * (it runs under vitest).
 */
export { createTestDatabase, describeEngine, migratedPgliteDump, storeEngines } from './postgres.ts'
export type { TestDatabase, TestDatabaseOptions } from './postgres.ts'
export { seedEvents, eventIdAt, mulberry32, SEED_SOURCES, SEED_OPERATIONS, SEED_OPERATORS, SEED_TENANTS } from './seed.ts'
export { referenceFilter, referenceSort } from './reference.ts'
export { runStoreConformance } from './conformance.ts'
export type { StoreFactory } from './conformance.ts'
