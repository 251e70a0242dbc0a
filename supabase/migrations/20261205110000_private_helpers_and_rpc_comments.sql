-- A schema Supabase's security advisor passes, and several extra_info keys in
-- audit_stats' group_by.
--
-- * Helpers that are not API move from public (where PostgREST offers every
--   function as /rest/v1/rpc/<name>) to audit_private, which PostgREST does
--   not expose: the RPCs now call audit_private.audit_events_where (made by
--   20261205100000) and the triggers the two functions below. Every
--   function has `search_path = ''` and names everything it uses with its
--   schema (splinter lint 0011).
-- * What re-running an earlier file brings back is taken away again here:
--   audit_insert_events(jsonb) beside the json one (PostgREST answers
--   PGRST203 for such a pair), audit_count_events, and DELETE on the table
--   for service_role (deletes go only through audit_delete_events).
-- * Each RPC in public has a comment, which Studio and PostgREST's OpenAPI
--   output show.
-- * audit_stats' p_group_by takes several extra_info keys separated by
--   commas and answers their combinations with counts.
--
-- Every statement may run again with no change (create or replace, if
-- exists / if not exists, grants and revokes).

create schema if not exists audit_private;
revoke all on schema audit_private from public, anon, authenticated;
grant usage on schema audit_private to service_role;

-- Writers that predate the severity column leave it null (see
-- audit_private.severity_for_result).
create or replace function audit_private.audit_events_default_severity() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.severity := audit_private.severity_for_result(new.result);
  return new;
end $$;

-- Append-only: no UPDATE ever, no TRUNCATE, and DELETE only inside
-- audit_delete_events, which sets audit.allow_delete for its own transaction.
create or replace function audit_private.audit_events_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and coalesce(pg_catalog.current_setting('audit.allow_delete', true), '') = 'on' then
    return old;
  end if;
  raise exception 'audit_events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$;

-- The triggers again, now on the private functions (same names, same events).
drop trigger if exists audit_events_default_severity on public.audit_events;
create trigger audit_events_default_severity
  before insert on public.audit_events
  for each row when (new.severity is null)
  execute function audit_private.audit_events_default_severity();
drop trigger if exists audit_events_no_update on public.audit_events;
create trigger audit_events_no_update
  before update or delete on public.audit_events
  for each row execute function audit_private.audit_events_append_only();
drop trigger if exists audit_events_no_truncate on public.audit_events;
create trigger audit_events_no_truncate
  before truncate on public.audit_events
  for each statement execute function audit_private.audit_events_append_only();

-- The RPCs, on the private helper.
create or replace function public.audit_query_events(
  p_filters jsonb default '{}'::jsonb,
  p_limit integer default 100,
  p_offset integer default 0,
  p_order text default 'desc',
  p_after uuid default null
) returns setof public.audit_events
language plpgsql stable
set search_path = ''
as $$
declare
  dir text := case when lower(p_order) = 'asc' then 'asc' else 'desc' end;
  cmp text := case when lower(p_order) = 'asc' then '>' else '<' end;
  where_sql text := audit_private.audit_events_where(p_filters);
begin
  if p_after is not null then
    where_sql := where_sql || format(
      ' and ("timestamp", id) %s (select a."timestamp", a.id from public.audit_events a where a.id = %L)', cmp, p_after);
  end if;
  return query execute format(
    'select * from public.audit_events where %s order by "timestamp" %s, id %s limit %s offset %s',
    where_sql, dir, dir, greatest(least(coalesce(p_limit, 100), 100000), 0), greatest(coalesce(p_offset, 0), 0));
end $$;

create or replace function public.audit_total_events(p_filters jsonb default '{}'::jsonb, p_cap bigint default null)
returns jsonb
language plpgsql volatile -- EXPLAIN is refused in a stable function; it reads only
set search_path = ''
as $$
declare
  n bigint;
  plan json;
  where_sql text := audit_private.audit_events_where(p_filters);
begin
  if p_cap is null then
    execute format('select count(*) from public.audit_events where %s', where_sql) into n;
    return jsonb_build_object('total', n, 'exact', true);
  end if;
  execute format('select count(*) from (select 1 from public.audit_events where %s limit %s) s', where_sql, p_cap + 1)
    into n;
  if n <= p_cap then
    return jsonb_build_object('total', n, 'exact', true);
  end if;
  execute format('explain (format json) select 1 from public.audit_events where %s', where_sql) into plan;
  return jsonb_build_object('total', greatest(p_cap + 1, (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint), 'exact', false);
end $$;

create or replace function public.audit_stats(
  p_filters jsonb default '{}'::jsonb,
  p_bucket text default 'hour',
  p_group_by text default null
) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  where_sql text := audit_private.audit_events_where(p_filters);
  unit text := case when p_bucket = 'day' then 'day' else 'hour' end;
  keys text[];
  k text;
  cols text;
  obj text;
  ord text;
  out jsonb;
  groups jsonb;
begin
  if p_group_by is not null then
    keys := string_to_array(p_group_by, ',');
    foreach k in array keys loop
      if k !~ '^[A-Za-z0-9_.:-]{1,100}$' then
        raise exception 'invalid extra_info key: %', k using errcode = 'invalid_parameter_value';
      end if;
    end loop;
    if cardinality(keys) > 10 then
      raise exception 'group_by takes at most 10 keys' using errcode = 'invalid_parameter_value';
    end if;
  end if;
  execute format($q$
    with g as (
      select result, operation_type, source, severity,
             date_trunc(%L, "timestamp" at time zone 'UTC') as bucket,
             grouping(result, operation_type, source, severity, date_trunc(%L, "timestamp" at time zone 'UTC')) as gid,
             count(*) as n
      from public.audit_events
      where %s
      group by grouping sets ((result), (operation_type), (source), (severity),
                              (date_trunc(%L, "timestamp" at time zone 'UTC'), result), ())
    )
    select jsonb_build_object(
      'total', coalesce((select n from g where gid = 31), 0),
      'by_result', coalesce((select jsonb_object_agg(result, n) from g where gid = 15), '{}'::jsonb),
      'by_operation_type', coalesce((select jsonb_object_agg(operation_type, n) from g where gid = 23), '{}'::jsonb),
      'by_source', coalesce((select jsonb_object_agg(source, n) from g where gid = 27), '{}'::jsonb),
      'by_severity', coalesce((select jsonb_object_agg(severity, n) from g where gid = 29), '{}'::jsonb),
      'histogram', jsonb_build_object('bucket', %L, 'points', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'start', to_char(bucket, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                 'success', coalesce(s, 0), 'failure', coalesce(f, 0), 'warning', coalesce(w, 0)) order by bucket)
        from (
          select bucket,
                 sum(n) filter (where result = 'success') as s,
                 sum(n) filter (where result = 'failure') as f,
                 sum(n) filter (where result = 'warning') as w
          from g where gid = 14 group by bucket
        ) h), '[]'::jsonb))
    )$q$, unit, unit, where_sql, unit, unit) into out;
  if cardinality(keys) = 1 then
    execute format($q$
      select coalesce(jsonb_agg(jsonb_build_object('value', v, 'count', n) order by n desc, v), '[]'::jsonb)
      from (
        select extra_info ->> %L as v, count(*) as n
        from public.audit_events
        where %s and extra_info ? %L
        group by 1 order by 2 desc, 1 limit 50
      ) t$q$, keys[1], where_sql, keys[1]) into groups;
    out := out || jsonb_build_object('groups', groups);
  elsif cardinality(keys) > 1 then
    -- several keys: their combinations, over the rows that have at least one
    -- of them (a missing key is null in its combination)
    select string_agg(format('extra_info ->> %L as v%s', key, i), ', ' order by i),
           string_agg(format('%L, v%s', key, i), ', ' order by i),
           string_agg(format('v%s', i), ', ' order by i)
      into cols, obj, ord
      from unnest(keys) with ordinality as u(key, i);
    execute format($q$
      select coalesce(jsonb_agg(jsonb_build_object('values', jsonb_build_object(%s), 'count', n) order by n desc, %s), '[]'::jsonb)
      from (
        select %s, count(*) as n
        from public.audit_events
        where %s and extra_info ?| %L::text[]
        group by %s order by n desc, %s limit 50
      ) t$q$, obj, ord, cols, where_sql, keys, ord, ord) into groups;
    out := out || jsonb_build_object('groups', groups);
  end if;
  return out;
end $$;

create or replace function public.audit_delete_events(p_filters jsonb, p_limit integer default 5000)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  if p_filters is null or p_filters = '{}'::jsonb then
    raise exception 'audit_delete_events needs at least one filter' using errcode = 'invalid_parameter_value';
  end if;
  perform set_config('audit.allow_delete', 'on', true);
  execute format(
    'delete from public.audit_events where id in (select id from public.audit_events where %s order by "timestamp", id limit %s)',
    audit_private.audit_events_where(p_filters), greatest(least(coalesce(p_limit, 5000), 100000), 1));
  get diagnostics n = row_count;
  perform set_config('audit.allow_delete', '', true);
  return n;
end $$;

-- The public helpers they replace, and what re-running the first file brings back.
drop function if exists public.audit_events_where(jsonb);
drop function if exists public.audit_events_default_severity();
drop function if exists public.audit_events_append_only();
drop function if exists public.audit_insert_events(jsonb);
drop function if exists public.audit_count_events(jsonb, bigint);
revoke delete, update, truncate on public.audit_events from service_role;

-- Nobody but service_role runs anything here (Supabase grants EXECUTE in
-- public to anon and authenticated by default).
revoke all on all functions in schema audit_private from public, anon, authenticated;
grant execute on function audit_private.audit_events_where(jsonb) to service_role;
grant execute on function audit_private.severity_for_result(text) to service_role;
revoke all on function public.audit_insert_events(json) from public, anon, authenticated;
revoke all on function public.audit_query_events(jsonb, integer, integer, text, uuid) from public, anon, authenticated;
revoke all on function public.audit_total_events(jsonb, bigint) from public, anon, authenticated;
revoke all on function public.audit_get_event(uuid) from public, anon, authenticated;
revoke all on function public.audit_stats(jsonb, text, text) from public, anon, authenticated;
revoke all on function public.audit_delete_events(jsonb, integer) from public, anon, authenticated;
grant execute on function public.audit_insert_events(json) to service_role;
grant execute on function public.audit_query_events(jsonb, integer, integer, text, uuid) to service_role;
grant execute on function public.audit_total_events(jsonb, bigint) to service_role;
grant execute on function public.audit_get_event(uuid) to service_role;
grant execute on function public.audit_stats(jsonb, text, text) to service_role;
grant execute on function public.audit_delete_events(jsonb, integer) to service_role;

comment on function public.audit_insert_events(json) is
  'Inserts a batch of events (a JSON array of rows); a row whose id is already stored is skipped. Returns the number inserted.';
comment on function public.audit_query_events(jsonb, integer, integer, text, uuid) is
  'One page of events matching p_filters, newest first (p_order asc: oldest first); p_after is a keyset cursor (the last id of the previous page).';
comment on function public.audit_total_events(jsonb, bigint) is
  'How many events match p_filters: {"total", "exact"}. Counts exactly up to p_cap rows; past it, the planner''s estimate with exact false.';
comment on function public.audit_get_event(uuid) is
  'One event by id (no row when there is none).';
comment on function public.audit_stats(jsonb, text, text) is
  'Counts of matching events by result, operation_type, source and severity, a histogram (p_bucket hour or day, UTC), and with p_group_by (extra_info keys, comma-separated) the 50 most frequent values or combinations.';
comment on function public.audit_delete_events(jsonb, integer) is
  'Deletes at most p_limit events matching p_filters (at least one filter), oldest first; returns how many. The only way rows leave the table: retention and admin purge.';
