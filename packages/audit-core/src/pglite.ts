/** `@audit/core/pglite`: the embedded store (install `@electric-sql/pglite`). */
export { loadPglite, openPgliteStore } from './stores/pglite-store.ts'
export type { PgliteStoreOptions } from './stores/pglite-store.ts'
export { DataDirLockedError } from './stores/data-dir-lock.ts'
