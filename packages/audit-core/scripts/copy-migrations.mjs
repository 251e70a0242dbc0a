// Ships the SQL migrations inside the package: supabase/migrations (the one
// source, which the Supabase CLI reads) copied to dist/migrations, where the
// built stores read them (src/stores/migrate.ts). A file already the same is
// left alone, so a build running while a built server starts never takes
// one away from it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

const from = new URL('../../../supabase/migrations/', import.meta.url)
const to = new URL('../dist/migrations/', import.meta.url)
const names = readdirSync(from).filter((n) => n.endsWith('.sql'))
mkdirSync(to, { recursive: true })
for (const n of readdirSync(to)) if (!names.includes(n)) rmSync(new URL(n, to))
for (const n of names) {
  const sql = readFileSync(new URL(n, from))
  const dest = new URL(n, to)
  if (!existsSync(dest) || !readFileSync(dest).equals(sql)) writeFileSync(dest, sql)
}
