/** `@audit/core/supabase`: the store on a Supabase project (install `@supabase/supabase-js`). */
export { openSupabaseStore, SupabaseRpcError } from './stores/supabase-store.ts'
export type { SupabaseStoreOptions } from './stores/supabase-store.ts'
