/** `@audit/core/postgres`: the store on a Postgres server (node-postgres; install `pg` and, for COPY, `pg-copy-streams`). */
export { openPostgresStore, migratePostgres } from './stores/postgres-store.ts'
export type { PostgresStoreOptions, PostgresConnections, PostgresPools } from './stores/postgres-store.ts'
