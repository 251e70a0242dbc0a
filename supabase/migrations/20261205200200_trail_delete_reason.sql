-- Deletions with their reason in the trail: retention and purge say why
-- (`retention: <policy>`, `purge by <key name>: <filters>`), and the delete
-- checkpoint records it (audit_private.trail_after_delete reads
-- audit.delete_reason), so a verifier tells an authorised deletion from
-- tampering and an auditor reads why rows left.
create or replace function public.audit_delete_events(p_filters jsonb, p_limit integer, p_reason text)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  perform pg_catalog.set_config('audit.delete_reason', coalesce(p_reason, ''), true);
  n := public.audit_delete_events(p_filters, p_limit);
  perform pg_catalog.set_config('audit.delete_reason', '', true);
  return n;
end $$;

revoke all on function public.audit_delete_events(jsonb, integer, text) from public, anon, authenticated;
grant execute on function public.audit_delete_events(jsonb, integer, text) to service_role;

comment on function public.audit_delete_events(jsonb, integer, text) is
  'As audit_delete_events(p_filters, p_limit), recording p_reason in the trail''s delete checkpoint (why the rows left: retention, purge).';
