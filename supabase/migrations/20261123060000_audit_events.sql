-- audit_events: the append-only audit table and the SQL functions every store calls.
--
-- The same file applies unchanged to a Supabase project (`supabase db push`),
-- to any Postgres 15+ server and to PGlite. No psql meta-commands.
--
-- Indexes, checked with EXPLAIN ANALYZE on 1,000,000 rows over 30 days
-- (local Postgres 15, 2 cores; first page of 100, newest first, last 7 days):
--   audit_events_timestamp_id_idx (timestamp, id)
--       The page's default query is a backward index scan that stops after
--       100 rows: 0.9 ms. It also serves keyset pagination (export), date
--       bounds and retention. A BRIN index is smaller but cannot return rows
--       in order, so the default page would sort every row of the range.
--   audit_events_operation_type_ts_idx (operation_type, timestamp)   1.0 ms
--   audit_events_operator_ts_idx (operator, timestamp)               1.2 ms
--   audit_events_tenant_ts_idx (tenant_id, timestamp), partial       0.9 ms
--   audit_events_request_id_idx, audit_events_resource_idx: partial
--       (where ... is not null), so events without such a value cost
--       nothing there; request_id: 0.1 ms.
--   Not indexed: result (4.0 ms), severity (2.3 ms), source (1.4 ms) and
--   actor_type: a handful of values each, so the timestamp index finds a
--   page after a few hundred rows; an index would cost every insert.
--   Known costs, left for the benchmarks to settle: `q` (ILIKE) is a
--   sequential scan (194 ms), and an exact count of 7 days (~233,000 rows)
--   takes 71 ms.

create table if not exists public.audit_events (
  id uuid primary key default gen_random_uuid(),
  "timestamp" timestamptz not null default now(),
  source varchar(50) not null,
  operator varchar(255),
  operation_type varchar(100) not null,
  result varchar(20) not null,
  message text,
  extra_info jsonb,
  severity varchar(10),
  tenant_id varchar(255),
  actor_type varchar(10),
  resource_type varchar(100),
  resource_id varchar(255),
  request_id varchar(255),
  ip_address inet,
  user_agent varchar(1024),
  constraint audit_events_result_check check (result in ('success', 'failure', 'warning')),
  constraint audit_events_severity_check check (severity in ('debug', 'info', 'warning', 'error', 'critical')),
  constraint audit_events_actor_type_check check (actor_type in ('user', 'admin', 'service', 'system', 'guest')),
  constraint audit_events_source_check check (source ~ '^[a-z0-9_.:-]+$'),
  constraint audit_events_operation_type_check check (operation_type ~ '^[A-Za-z0-9_.:-]+$')
);

comment on table public.audit_events is
  'Append-only audit trail. Written and read through the audit_* functions by service_role only.';

create index if not exists audit_events_timestamp_id_idx on public.audit_events ("timestamp", id);
create index if not exists audit_events_operation_type_ts_idx on public.audit_events (operation_type, "timestamp");
create index if not exists audit_events_operator_ts_idx on public.audit_events (operator, "timestamp");
create index if not exists audit_events_request_id_idx on public.audit_events (request_id) where request_id is not null;
create index if not exists audit_events_resource_idx on public.audit_events (resource_type, resource_id, "timestamp") where resource_id is not null;
create index if not exists audit_events_tenant_ts_idx on public.audit_events (tenant_id, "timestamp") where tenant_id is not null;

-- Writers that predate the severity column (the Python service) leave it
-- null; it is derived from the result. The WHEN clause keeps the trigger off
-- the path of writers that set it.
create or replace function public.audit_events_default_severity() returns trigger
language plpgsql as $$
begin
  new.severity := case new.result when 'failure' then 'error' when 'warning' then 'warning' else 'info' end;
  return new;
end $$;

drop trigger if exists audit_events_default_severity on public.audit_events;
create trigger audit_events_default_severity
  before insert on public.audit_events
  for each row when (new.severity is null)
  execute function public.audit_events_default_severity();

-- Append-only: no UPDATE ever, no TRUNCATE, and DELETE only inside
-- audit_purge_events / audit_apply_retention, which set audit.allow_delete
-- for their own transaction.
create or replace function public.audit_events_append_only() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' and coalesce(current_setting('audit.allow_delete', true), '') = 'on' then
    return old;
  end if;
  raise exception 'audit_events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$;

drop trigger if exists audit_events_no_update on public.audit_events;
create trigger audit_events_no_update
  before update or delete on public.audit_events
  for each row execute function public.audit_events_append_only();

drop trigger if exists audit_events_no_truncate on public.audit_events;
create trigger audit_events_no_truncate
  before truncate on public.audit_events
  for each statement execute function public.audit_events_append_only();

-- Supabase's roles, created where absent (a plain Postgres server, PGlite) so
-- that the same grants apply everywhere.
do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin', r);
      exception when duplicate_object or unique_violation then
        null; -- created concurrently by another migrator
      end;
    end if;
  end loop;
end $$;

alter table public.audit_events enable row level security;
-- No policy for anon/authenticated: with RLS on they see and write nothing.
-- service_role bypasses RLS on Supabase; elsewhere this policy stands in.
revoke all on public.audit_events from public, anon, authenticated;
grant select, insert, delete on public.audit_events to service_role;
drop policy if exists audit_events_service_role on public.audit_events;
create policy audit_events_service_role on public.audit_events
  for all to service_role using (true) with check (true);

-- The WHERE clause of every read, built from a JSON filter object so that the
-- query semantics live in one place. Values are quoted with %L; only the
-- clauses a filter names are emitted, so each query is planned for exactly
-- its predicates (an index is used where one fits).
--   start_date, end_date: inclusive ISO 8601 bounds
--   operation_type, result, source, operator, severity, tenant_id,
--   actor_type, resource_type, resource_id, request_id: arrays (any of)
--   q: case-insensitive substring of message, operation_type or operator
--   extra: {"key": "value"}: extra_info ->> key = value
create or replace function public.audit_events_where(p_filters jsonb) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  clauses text[] := array['true'];
  col text;
  vals jsonb;
  pattern text;
  k text;
  v text;
begin
  if p_filters is null then
    return 'true';
  end if;
  if p_filters ? 'start_date' then
    clauses := clauses || format('"timestamp" >= %L::timestamptz', p_filters ->> 'start_date');
  end if;
  if p_filters ? 'end_date' then
    clauses := clauses || format('"timestamp" <= %L::timestamptz', p_filters ->> 'end_date');
  end if;
  foreach col in array array['operation_type', 'result', 'source', 'operator', 'severity', 'tenant_id',
                             'actor_type', 'resource_type', 'resource_id', 'request_id'] loop
    vals := p_filters -> col;
    if vals is null or jsonb_typeof(vals) = 'null' then
      continue;
    end if;
    if jsonb_typeof(vals) <> 'array' then
      vals := jsonb_build_array(vals);
    end if;
    if jsonb_array_length(vals) = 1 then
      clauses := clauses || format('%I = %L', col, vals ->> 0);
    else
      clauses := clauses || format('%I = any(%L::text[])', col,
        (select array_agg(x) from jsonb_array_elements_text(vals) as x));
    end if;
  end loop;
  if coalesce(p_filters ->> 'q', '') <> '' then
    pattern := '%' || replace(replace(replace(p_filters ->> 'q', '\', '\\'), '%', '\%'), '_', '\_') || '%';
    clauses := clauses || format('(message ilike %1$L or operation_type ilike %1$L or operator ilike %1$L)', pattern);
  end if;
  if jsonb_typeof(p_filters -> 'extra') = 'object' then
    for k, v in select key, value from jsonb_each_text(p_filters -> 'extra') loop
      if k !~ '^[A-Za-z0-9_.:-]{1,100}$' then
        raise exception 'invalid extra_info key: %', k using errcode = 'invalid_parameter_value';
      end if;
      clauses := clauses || format('extra_info ->> %L = %L', k, v);
    end loop;
  end if;
  return array_to_string(clauses, ' and ');
end $$;

-- Insert a batch given as a JSON array of rows. Idempotent on id: a batch
-- re-sent after a lost acknowledgement writes nothing twice. Returns the
-- number of rows actually inserted.
create or replace function public.audit_insert_events(p_events jsonb) returns integer
language sql
set search_path = ''
as $$
  with ins as (
    insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message,
      extra_info, severity, tenant_id, actor_type, resource_type, resource_id, request_id, ip_address, user_agent)
    select coalesce(e.id, gen_random_uuid()), coalesce(e."timestamp", now()), e.source, e.operator,
      e.operation_type, e.result, e.message, e.extra_info, e.severity, e.tenant_id, e.actor_type,
      e.resource_type, e.resource_id, e.request_id, e.ip_address, e.user_agent
    from jsonb_populate_recordset(null::public.audit_events, p_events) as e
    on conflict (id) do nothing
    returning 1
  )
  select count(*)::integer from ins
$$;

-- One page of events, newest first by default. p_after is a keyset cursor:
-- the id of the last event of the previous page (rows strictly after it in
-- the chosen order), so deep pages cost the same as the first one.
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
  where_sql text := public.audit_events_where(p_filters);
begin
  if p_after is not null then
    where_sql := where_sql || format(
      ' and ("timestamp", id) %s (select a."timestamp", a.id from public.audit_events a where a.id = %L)', cmp, p_after);
  end if;
  return query execute format(
    'select * from public.audit_events where %s order by "timestamp" %s, id %s limit %s offset %s',
    where_sql, dir, dir, greatest(least(coalesce(p_limit, 100), 100000), 0), greatest(coalesce(p_offset, 0), 0));
end $$;

-- How many events match. With p_cap, counting stops at p_cap rows, so a
-- total over millions of rows costs no more than p_cap index entries; the
-- caller reports "at least p_cap" in that case.
create or replace function public.audit_count_events(p_filters jsonb default '{}'::jsonb, p_cap bigint default null)
returns bigint
language plpgsql stable
set search_path = ''
as $$
declare
  n bigint;
  where_sql text := public.audit_events_where(p_filters);
begin
  if p_cap is null then
    execute format('select count(*) from public.audit_events where %s', where_sql) into n;
  else
    execute format('select count(*) from (select 1 from public.audit_events where %s limit %s) s', where_sql, p_cap)
      into n;
  end if;
  return n;
end $$;

create or replace function public.audit_get_event(p_id uuid) returns setof public.audit_events
language sql stable
set search_path = ''
as $$
  select * from public.audit_events where id = p_id
$$;

-- Only service_role may call the functions (Supabase grants EXECUTE to
-- anon/authenticated by default in public; take it back).
revoke all on function public.audit_events_where(jsonb) from public, anon, authenticated;
revoke all on function public.audit_insert_events(jsonb) from public, anon, authenticated;
revoke all on function public.audit_query_events(jsonb, integer, integer, text, uuid) from public, anon, authenticated;
revoke all on function public.audit_count_events(jsonb, bigint) from public, anon, authenticated;
revoke all on function public.audit_get_event(uuid) from public, anon, authenticated;
grant execute on function public.audit_events_where(jsonb) to service_role;
grant execute on function public.audit_insert_events(jsonb) to service_role;
grant execute on function public.audit_query_events(jsonb, integer, integer, text, uuid) to service_role;
grant execute on function public.audit_count_events(jsonb, bigint) to service_role;
grant execute on function public.audit_get_event(uuid) to service_role;
