import postgres from 'postgres'
import { migratePostgres } from './src/stores/postgres-store.ts'
const sql = postgres('postgres://postgres@127.0.0.1:5432/qb', { max: 1, onnotice: () => {} })
await migratePostgres(sql); await sql.end()
