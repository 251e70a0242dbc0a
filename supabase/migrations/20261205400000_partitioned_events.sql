-- public.audit_events partitioned by day on "timestamp", kept by pg_partman,
-- where the server has pg_partman; the same table, unpartitioned, where it
-- has not (PGlite, a server without the package).
--
-- Where pg_partman is available (pg_available_extensions: a Supabase
-- project, a server with postgresql-15-partman) this file enables it
-- (`create extension pg_partman schema partman`, which needs no
-- shared_preload_libraries) and converts the table, in this migration's
-- transaction, when the table holds at most 1,000,000 rows: a new
-- database, or a small one. A larger table is left as it is, with a
-- warning: converting it builds one index over all its rows under an
-- exclusive lock, which its owner schedules, by running
--   select audit_private.partition_audit_events();
-- in a maintenance window. public.audit_partitioning() says which it is and
-- why; the API logs it once at start-up.
--
-- The conversion (audit_private.partition_audit_events) keeps every name:
--   * the table is renamed and a partitioned table public.audit_events is
--     made in its place (same columns, defaults, CHECK constraints, comment,
--     grants, RLS policies, triggers and indexes, under their names); its
--     primary key is (id, "timestamp"), as a unique key on a partitioned
--     table must hold the partition key;
--   * pg_partman makes daily partitions (UTC days) from the day after the
--     newest event (today at the earliest), 7 days ahead, and a default
--     partition for anything outside them;
--   * the old table, when it has rows, becomes the partition of everything
--     before that day, named as pg_partman names the day before it; its
--     rows are not moved. ATTACH checks its rows against the bound once;
--     the new primary key's index is built on it;
--   * functions whose arguments or result are the table's row type are bound
--     to the old table's type: each is re-created on the new one, with its
--     grants and comment.
-- It runs in one transaction: it converts all or nothing.
--
-- What changes for the other functions:
--   * audit_insert_events: `on conflict do nothing` (no conflict target:
--     the only unique key is (id) unpartitioned and (id, "timestamp")
--     partitioned, and a target must name exactly one of them). A re-sent
--     batch carries the same ids with the same timestamps (the library
--     stamps both at enqueue), so it writes nothing twice either way; the
--     COPY path falls back to this function on a unique violation.
--   * audit_get_event: a UUIDv7 id carries its creation time, which the
--     library stamps with the event's time; the row is looked for within a
--     day of it first (one partition or two), then everywhere.
--   * audit_delete_events: deletes by ("timestamp", id), so each row is
--     found in its own partition.
--   * retention drops a whole partition when every severity's cut-off is
--     past its end (audit_drop_partitions), recording its rows in the
--     trail exactly as a delete does; see apps/api/src/retention.ts.
--   * maintenance (premaking partitions) is audit_partition_maintenance,
--     which the API runs hourly under an advisory lock; pg_cron is not
--     needed.
-- Partitions live in public beside their parent; each gets RLS on and no
-- grant to anon or authenticated (Supabase's default privileges would give
-- them some), so PostgREST exposes none.

create schema if not exists audit_private;

-- The partitions of public.audit_events with their bounds (null lower
-- bound: MINVALUE), oldest first; the default partition last.
create or replace function audit_private.event_partitions()
returns table (relid regclass, lower_bound timestamptz, upper_bound timestamptz, is_default boolean)
language sql stable
set search_path = ''
set "TimeZone" = 'UTC'
as $$
  select c.oid::regclass, b.lo, b.hi, b.expr = 'DEFAULT'
  from pg_catalog.pg_inherits i
  join pg_catalog.pg_class c on c.oid = i.inhrelid
  cross join lateral (select pg_catalog.pg_get_expr(c.relpartbound, c.oid) as expr) e
  cross join lateral (
    select e.expr,
           case when m[1] = 'MINVALUE' then null else pg_catalog.btrim(m[1], '''')::timestamptz end as lo,
           case when m[2] = 'MAXVALUE' then null else pg_catalog.btrim(m[2], '''')::timestamptz end as hi
    from (select pg_catalog.regexp_match(e.expr, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') as m) x
  ) b
  where i.inhparent = pg_catalog.to_regclass('public.audit_events')
  order by b.expr = 'DEFAULT', b.hi nulls last
$$;

-- Each partition: RLS on, nothing for anon/authenticated/public (Supabase
-- grants new tables in public to anon and authenticated by default).
create or replace function audit_private.secure_event_partitions() returns void
language plpgsql
set search_path = ''
as $$
declare
  p regclass;
  r text;
begin
  for p in select relid from audit_private.event_partitions() loop
    execute pg_catalog.format('alter table %s enable row level security', p);
    execute pg_catalog.format('revoke all on %s from public', p);
    foreach r in array array['anon', 'authenticated'] loop
      if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
        execute pg_catalog.format('revoke all on %s from %I', p, r);
      end if;
    end loop;
  end loop;
end $$;

-- Where the table stands: {"partitioned", "manager", "interval",
-- "partitions", "oldest", "premade_until", "reason"}.
create or replace function public.audit_partitioning() returns jsonb
language plpgsql stable security definer
set search_path = ''
set "TimeZone" = 'UTC'
as $$
declare
  v_kind "char";
  v_schema text;
  v_version text;
  v_interval text;
  v_n integer;
  v_oldest timestamptz;
  v_until timestamptz;
begin
  select c.relkind into v_kind from pg_catalog.pg_class c where c.oid = pg_catalog.to_regclass('public.audit_events');
  select n.nspname, e.extversion into v_schema, v_version
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman';
  if v_kind is distinct from 'p' then
    return jsonb_build_object('partitioned', false, 'manager', null, 'reason',
      case
        when not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_partman')
          then 'pg_partman is not available on this database server (PGlite, or Postgres without the pg_partman package)'
        else 'pg_partman is available but the table was not converted (it held more than 1,000,000 rows when migrated, or the conversion failed); run select audit_private.partition_audit_events(); in a maintenance window'
      end);
  end if;
  if v_schema is not null then
    execute pg_catalog.format('select partition_interval from %I.part_config where parent_table = %L', v_schema, 'public.audit_events')
      into v_interval;
  end if;
  select count(*) filter (where not is_default),
         case when bool_or(lower_bound is null and not is_default) then null else min(lower_bound) filter (where not is_default) end,
         max(upper_bound) filter (where not is_default)
    into v_n, v_oldest, v_until
  from audit_private.event_partitions();
  return jsonb_build_object('partitioned', true,
    'manager', case when v_interval is not null then 'pg_partman ' || v_version end,
    'interval', v_interval, 'partitions', v_n,
    'oldest', pg_catalog.to_char(v_oldest, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'premade_until', pg_catalog.to_char(v_until, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'reason', case when v_interval is null then 'partitioned, but pg_partman does not manage it: no partitions are made ahead' end);
end $$;

-- Converts public.audit_events into a daily-partitioned table managed by
-- pg_partman (see the top of this file). Returns what it did; raises when
-- it cannot, leaving everything as it was.
create or replace function audit_private.partition_audit_events(p_premake integer default 7) returns text
language plpgsql
set search_path = ''
set "TimeZone" = 'UTC'
as $$
declare
  v_old constant text := 'audit_events_before_partitioning';
  v_oid oid := pg_catalog.to_regclass('public.audit_events');
  v_schema text;
  v_version text;
  v_dts text;
  v_start timestamptz;
  v_max timestamptz;
  v_name text;
  v_rls boolean;
  v_comment text;
  v_indexes text[] := '{}';
  v_triggers text[] := '{}';
  v_policies text[] := '{}';
  v_functions text[] := '{}';
  v_after text[] := '{}';
  v_grants text[] := '{}';
  r record;
  s text;
begin
  if v_oid is null then
    raise exception 'public.audit_events does not exist';
  end if;
  if (select relkind from pg_catalog.pg_class where oid = v_oid) = 'p' then
    return 'public.audit_events is already partitioned';
  end if;
  if not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_partman') then
    raise exception 'pg_partman is not available on this server' using errcode = 'feature_not_supported';
  end if;
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_partman') then
    create schema if not exists partman;
    create extension if not exists pg_partman schema partman;
  end if;
  select n.nspname, e.extversion into v_schema, v_version
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman';

  lock table public.audit_events in access exclusive mode;
  select max("timestamp") into v_max from public.audit_events;
  v_start := greatest(pg_catalog.date_trunc('day', now()), pg_catalog.date_trunc('day', v_max) + interval '1 day');

  -- What hangs on the table, to be made again on the new one.
  select c.relrowsecurity, pg_catalog.obj_description(c.oid, 'pg_class') into v_rls, v_comment
  from pg_catalog.pg_class c where c.oid = v_oid;
  for r in select i.indexrelid, c.relname, i.indisunique, i.indisprimary
           from pg_catalog.pg_index i join pg_catalog.pg_class c on c.oid = i.indexrelid
           where i.indrelid = v_oid loop
    if r.indisprimary then
      null; -- (id) becomes (id, "timestamp") below
    elsif r.indisunique then
      raise exception 'unique index % cannot be kept on a partitioned table (it must hold "timestamp")', r.relname;
    else
      v_indexes := v_indexes || pg_catalog.regexp_replace(pg_catalog.pg_get_indexdef(r.indexrelid),
        '^CREATE INDEX \S+ ON public\.\S+ ', pg_catalog.format('CREATE INDEX %I ON public.audit_events ', r.relname));
    end if;
    execute pg_catalog.format('alter index public.%I rename to %I', r.relname, pg_catalog.left('old_' || r.relname, 63));
  end loop;
  for r in select a.grantee, a.privilege_type from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
           where c.oid = v_oid and a.grantee <> c.relowner loop
    v_grants := v_grants || pg_catalog.format('grant %s on public.audit_events to %s', r.privilege_type,
      case when r.grantee = 0 then 'public' else pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) end);
  end loop;
  for r in select t.oid, t.tgname from pg_catalog.pg_trigger t where t.tgrelid = v_oid and not t.tgisinternal loop
    v_triggers := v_triggers || pg_catalog.pg_get_triggerdef(r.oid);
    execute pg_catalog.format('drop trigger %I on public.audit_events', r.tgname);
  end loop;
  for r in select * from pg_catalog.pg_policies where schemaname = 'public' and tablename = 'audit_events' loop
    v_policies := v_policies || pg_catalog.format('create policy %I on public.audit_events as %s for %s to %s%s%s',
      r.policyname, r.permissive, r.cmd, (select pg_catalog.string_agg(pg_catalog.quote_ident(x), ', ') from pg_catalog.unnest(r.roles) x),
      case when r.qual is not null then ' using (' || r.qual || ')' else '' end,
      case when r.with_check is not null then ' with check (' || r.with_check || ')' else '' end);
  end loop;
  -- functions taking or returning the row type: their definition, then their grants and comment
  for r in select p.oid, p.oid::regprocedure as sig from pg_catalog.pg_proc p
           where p.prorettype = (select reltype from pg_catalog.pg_class where oid = v_oid)
              or (select reltype from pg_catalog.pg_class where oid = v_oid) = any(p.proargtypes::oid[])
              or (select reltype from pg_catalog.pg_class where oid = v_oid) = any(coalesce(p.proallargtypes, '{}'::oid[])) loop
    v_functions := v_functions || pg_catalog.pg_get_functiondef(r.oid);
    v_after := v_after || ('revoke all on function ' || r.sig::text || ' from public');
    for s in select pg_catalog.format('revoke all on function %s from %I', r.sig, x) from pg_catalog.unnest(array['anon', 'authenticated']) x
             where exists (select 1 from pg_catalog.pg_roles where rolname = x) loop
      v_after := v_after || s;
    end loop;
    for s in select pg_catalog.format('grant execute on function %s to %s', r.sig,
                      case when a.grantee = 0 then 'public' else pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) end)
             from pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
             where p.oid = r.oid and a.privilege_type = 'EXECUTE' and a.grantee <> p.proowner loop
      v_after := v_after || s;
    end loop;
    if pg_catalog.obj_description(r.oid, 'pg_proc') is not null then
      v_after := v_after || pg_catalog.format('comment on function %s is %L', r.sig, pg_catalog.obj_description(r.oid, 'pg_proc'));
    end if;
    execute 'drop function ' || r.sig::text;
  end loop;
  alter table public.audit_events rename to audit_events_before_partitioning;
  -- the saved definitions name the old table (search_path is empty, so every name is qualified)
  for i in 1 .. coalesce(pg_catalog.array_length(v_functions, 1), 0) loop
    v_functions[i] := pg_catalog.replace(v_functions[i], 'public.audit_events_before_partitioning', 'public.audit_events');
  end loop;
  for i in 1 .. coalesce(pg_catalog.array_length(v_after, 1), 0) loop
    v_after[i] := pg_catalog.replace(v_after[i], 'public.audit_events_before_partitioning', 'public.audit_events');
  end loop;

  create table public.audit_events (
    like public.audit_events_before_partitioning including defaults including constraints including storage including generated
  ) partition by range ("timestamp");
  alter table public.audit_events add constraint audit_events_pkey primary key (id, "timestamp");
  foreach s in array v_indexes loop
    execute s;
  end loop;

  if v_version like '4.%' then
    execute pg_catalog.format('select %I.create_parent(p_parent_table => %L, p_control => %L, p_type => %L, p_interval => %L, p_premake => %s, p_start_partition => %L)',
      v_schema, 'public.audit_events', 'timestamp', 'native', '1 day', p_premake, v_start::text);
  else
    execute pg_catalog.format('select %I.create_parent(p_parent_table => %L, p_control => %L, p_interval => %L, p_type => %L, p_premake => %s, p_start_partition => %L)',
      v_schema, 'public.audit_events', 'timestamp', '1 day', 'range', p_premake, v_start::text);
  end if;
  -- premake by the clock, not only ahead of the newest row
  execute pg_catalog.format('update %I.part_config set infinite_time_partitions = true where parent_table = %L', v_schema, 'public.audit_events');
  execute pg_catalog.format('select datetime_string from %I.part_config where parent_table = %L', v_schema, 'public.audit_events') into v_dts;

  if v_max is null then
    drop table public.audit_events_before_partitioning;
  else
    -- named as pg_partman names the day before the first of its partitions (it orders partitions by that suffix)
    v_name := 'audit_events_p' || pg_catalog.to_char(v_start - interval '1 day', v_dts);
    execute pg_catalog.format('alter table public.audit_events_before_partitioning rename to %I', v_name);
    -- a constraint the upgrade of the Python table added NOT VALID must hold on the rows to be attached
    for r in select conname from pg_catalog.pg_constraint where conrelid = pg_catalog.format('public.%I', v_name)::regclass and contype = 'c' and not convalidated loop
      execute pg_catalog.format('alter table public.%I validate constraint %I', v_name, r.conname);
    end loop;
    -- its primary key (id) gives way to the parent's (id, "timestamp"), which ATTACH builds on it
    for r in select conname from pg_catalog.pg_constraint where conrelid = pg_catalog.format('public.%I', v_name)::regclass and contype = 'p' loop
      execute pg_catalog.format('alter table public.%I drop constraint %I', v_name, r.conname);
    end loop;
    execute pg_catalog.format('alter table public.audit_events attach partition public.%I for values from (minvalue) to (%L)', v_name, v_start);
  end if;

  foreach s in array v_triggers loop
    execute s;
  end loop;
  foreach s in array v_functions loop
    execute s;
  end loop;
  foreach s in array v_after loop
    execute s;
  end loop;
  if v_rls then
    alter table public.audit_events enable row level security;
  end if;
  foreach s in array v_policies loop
    execute s;
  end loop;
  execute pg_catalog.format('comment on table public.audit_events is %L', v_comment);
  -- the table's grants: those the old table had (service_role: select, insert), nothing for anyone else
  revoke all on public.audit_events from public;
  foreach s in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = s) then
      execute pg_catalog.format('revoke all on public.audit_events from %I', s);
    end if;
  end loop;
  foreach s in array v_grants loop
    execute s;
  end loop;
  perform audit_private.secure_event_partitions();
  return pg_catalog.format('public.audit_events is partitioned by day (pg_partman %s), partitions from %s; %s',
    v_version, v_start, case when v_name is null then 'it was empty' else 'its earlier rows are partition ' || v_name end);
end $$;

revoke all on function audit_private.event_partitions() from public;
revoke all on function audit_private.secure_event_partitions() from public;
revoke all on function audit_private.partition_audit_events(integer) from public;
do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format('revoke all on function audit_private.event_partitions() from %I', r);
      execute format('revoke all on function audit_private.secure_event_partitions() from %I', r);
      execute format('revoke all on function audit_private.partition_audit_events(integer) from %I', r);
    end if;
  end loop;
end $$;

-- Premakes the coming days' partitions (pg_partman's run_maintenance for
-- this table only) and secures them; the API runs it hourly under an
-- advisory lock. Returns audit_partitioning(). Nothing to do unpartitioned.
create or replace function public.audit_partition_maintenance() returns jsonb
language plpgsql volatile security definer
set search_path = ''
set "TimeZone" = 'UTC'
as $$
declare
  v_schema text;
  v_moved boolean;
begin
  select n.nspname into v_schema
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman';
  if v_schema is not null and (select relkind from pg_catalog.pg_class where oid = pg_catalog.to_regclass('public.audit_events')) = 'p' then
    -- Rows the default partition caught (written before their day's
    -- partition existed: a backfill, a clock ahead) would stop pg_partman
    -- from making that day's partition: they move to partitions of their
    -- own days first. The move deletes from and inserts into partitions
    -- directly, so the parent's trail triggers do not see it: the rows stay
    -- what they were, only their place changes.
    if exists (select 1 from audit_private.event_partitions() d where d.is_default) then
      execute pg_catalog.format('select exists (select 1 from %s)',
        (select d.relid from audit_private.event_partitions() d where d.is_default)) into v_moved;
      if v_moved then
        perform pg_catalog.set_config('audit.allow_delete', 'on', true);
        execute pg_catalog.format('select %I.partition_data_time(p_parent_table => %L, p_batch_count => 100000, p_analyze => false)', v_schema, 'public.audit_events');
        perform pg_catalog.set_config('audit.allow_delete', '', true);
      end if;
    end if;
    execute pg_catalog.format('select %I.run_maintenance(p_parent_table => %L, p_analyze => false)', v_schema, 'public.audit_events');
    perform audit_private.secure_event_partitions();
  end if;
  return public.audit_partitioning();
end $$;

-- Retention by partition: drops, oldest first, at most p_max partitions
-- whose rows are all older than p_before (their upper bound is at or before
-- it), never the default partition; the caller calls again until none is
-- left, so each partition is its own short transaction. Before a partition goes, its rows are recorded in
-- the trail as a delete of those rows would be (delete checkpoints of at
-- most 5,000 rows, their leaves with erased fields' commitments, the
-- reason), and, where a rollup is kept (audit_private.rollup_add), taken
-- out of it. Returns {"partitions": [names], "deleted": {severity: n},
-- "total": n}. Unpartitioned: drops nothing.
create or replace function public.audit_drop_partitions(p_before timestamptz, p_reason text, p_max integer default 1)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
set "TimeZone" = 'UTC'
as $$
declare
  p record;
  v_names text[] := '{}';
  v_deleted jsonb := '{}'::jsonb;
  v_total bigint := 0;
  v_erased jsonb;
  v_ids uuid[];
  v_leaves bytea;
  v_last uuid;
  v_counts jsonb;
begin
  if p_before is null or coalesce(p_reason, '') = '' then
    raise exception 'audit_drop_partitions needs a cut-off and a reason' using errcode = 'invalid_parameter_value';
  end if;
  for p in select relid from audit_private.event_partitions() where not is_default and upper_bound <= p_before
           order by upper_bound limit greatest(coalesce(p_max, 1), 1) loop
    -- no row may arrive in it between the trail's record and the drop
    execute pg_catalog.format('lock table %s in share mode', p.relid);
    execute pg_catalog.format('select coalesce(pg_catalog.jsonb_object_agg(coalesce(severity, %L), n), %L::jsonb) from (select severity, count(*) as n from %s group by 1) s',
      'null', '{}', p.relid) into v_counts;
    execute pg_catalog.format('select coalesce(pg_catalog.jsonb_object_agg(x.id::text, x.fields), %L::jsonb) from %s o join audit_private.erased_fields x on x.id = o.id',
      '{}', p.relid) into v_erased;
    v_last := null;
    loop
      execute audit_private.leaves_query(pg_catalog.format('(select * from %s where %s order by id limit 5000)', p.relid,
          case when v_last is null then 'true' else pg_catalog.format('id > %L', v_last) end))
        into v_ids, v_leaves using v_erased;
      exit when coalesce(pg_catalog.cardinality(v_ids), 0) = 0;
      perform audit_private.trail_append('delete', v_ids, v_leaves, null, p_reason);
      v_last := v_ids[pg_catalog.cardinality(v_ids)];
      exit when pg_catalog.cardinality(v_ids) < 5000;
    end loop;
    if pg_catalog.to_regprocedure('audit_private.rollup_add(text,integer)') is not null then
      execute 'select audit_private.rollup_add($1, -1)' using p.relid::text;
    end if;
    v_names := v_names || p.relid::text;
    execute pg_catalog.format('alter table public.audit_events detach partition %s', p.relid);
    execute pg_catalog.format('drop table %s', p.relid);
    select coalesce(pg_catalog.jsonb_object_agg(k, coalesce((v_deleted ->> k)::bigint, 0) + coalesce((v_counts ->> k)::bigint, 0)), '{}'::jsonb)
      into v_deleted
      from (select pg_catalog.jsonb_object_keys(v_deleted) as k union select pg_catalog.jsonb_object_keys(v_counts)) ks;
    v_total := v_total + (select coalesce(sum(value::bigint), 0) from pg_catalog.jsonb_each_text(v_counts));
  end loop;
  return jsonb_build_object('partitions', to_jsonb(v_names), 'deleted', v_deleted, 'total', v_total);
end $$;

-- Idempotent on id: see the top of this file for why there is no conflict target.
create or replace function public.audit_insert_events(p_events json) returns integer
language sql
set search_path = ''
as $$
  with ins as (
    insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message,
      extra_info, severity, tenant_id, actor_type, resource_type, resource_id, request_id, ip_address, user_agent)
    select coalesce(e.id, gen_random_uuid()), coalesce(e."timestamp", now()), e.source, e.operator,
      e.operation_type, e.result, e.message, e.extra_info, e.severity, e.tenant_id, e.actor_type,
      e.resource_type, e.resource_id, e.request_id, e.ip_address, e.user_agent
    from json_populate_recordset(null::public.audit_events, p_events) as e
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from ins
$$;

-- A UUIDv7's first 48 bits are its creation time in ms: the partition of
-- that day (and its neighbours) first, then every partition (an id the
-- library did not make, or an event given an earlier time).
create or replace function public.audit_get_event(p_id uuid) returns setof public.audit_events
language plpgsql stable
set search_path = ''
as $$
declare
  t timestamptz;
begin
  if pg_catalog.substr(p_id::text, 15, 1) = '7' then
    t := pg_catalog.to_timestamp((('x' || pg_catalog.lpad(pg_catalog.replace(pg_catalog.left(p_id::text, 13), '-', ''), 16, '0'))::bit(64)::bigint) / 1000.0);
    return query select * from public.audit_events e
      where e.id = p_id and e."timestamp" >= t - interval '1 day' and e."timestamp" < t + interval '1 day';
    if found then
      return;
    end if;
  end if;
  return query select * from public.audit_events e where e.id = p_id;
end $$;

-- The keyset cursor's row is found once, by audit_get_event (its plan is
-- kept), and its time and id enter the page's query as constants: the
-- planner then prunes the partitions on the far side of the cursor instead
-- of planning an id lookup in every partition: a keyset page over 100
-- partitions took 35 ms, and takes 8 ms.
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
  after_ts timestamptz;
begin
  if p_after is not null then
    select a."timestamp" into after_ts from public.audit_get_event(p_after) a limit 1;
    if after_ts is null then
      return; -- no such event: nothing is after it (as the row comparison with no row gave)
    end if;
    where_sql := where_sql || format(' and ("timestamp", id) %s (%L::timestamptz, %L::uuid)', cmp, after_ts, p_after);
  end if;
  return query execute format(
    'select * from public.audit_events where %s order by "timestamp" %s, id %s limit %s offset %s',
    where_sql, dir, dir, greatest(least(coalesce(p_limit, 100), 100000), 0), greatest(coalesce(p_offset, 0), 0));
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
    'delete from public.audit_events where ("timestamp", id) in (select "timestamp", id from public.audit_events where %s order by "timestamp", id limit %s)',
    audit_private.audit_events_where(p_filters), greatest(least(coalesce(p_limit, 5000), 100000), 1));
  get diagnostics n = row_count;
  perform set_config('audit.allow_delete', '', true);
  return n;
end $$;

revoke all on function public.audit_partitioning() from public, anon, authenticated;
revoke all on function public.audit_partition_maintenance() from public, anon, authenticated;
revoke all on function public.audit_drop_partitions(timestamptz, text, integer) from public, anon, authenticated;
revoke all on function public.audit_insert_events(json) from public, anon, authenticated;
revoke all on function public.audit_get_event(uuid) from public, anon, authenticated;
revoke all on function public.audit_query_events(jsonb, integer, integer, text, uuid) from public, anon, authenticated;
revoke all on function public.audit_delete_events(jsonb, integer) from public, anon, authenticated;
grant execute on function public.audit_partitioning() to service_role;
grant execute on function public.audit_partition_maintenance() to service_role;
grant execute on function public.audit_drop_partitions(timestamptz, text, integer) to service_role;
grant execute on function public.audit_insert_events(json) to service_role;
grant execute on function public.audit_get_event(uuid) to service_role;
grant execute on function public.audit_query_events(jsonb, integer, integer, text, uuid) to service_role;
grant execute on function public.audit_delete_events(jsonb, integer) to service_role;

comment on function public.audit_partitioning() is
  'Whether audit_events is partitioned: {"partitioned", "manager", "interval", "partitions", "oldest", "premade_until", "reason"}.';
comment on function public.audit_partition_maintenance() is
  'Makes the coming days'' partitions of audit_events (pg_partman run_maintenance) and secures them; returns audit_partitioning(). Does nothing unpartitioned.';
comment on function public.audit_drop_partitions(timestamptz, text, integer) is
  'Retention by partition: drops at most p_max partitions of audit_events (oldest first) whose rows are all older than p_before, recording them in the trail as deleted with p_reason. Returns {"partitions", "deleted", "total"}; call again until partitions is empty.';

-- The conversion itself, where pg_partman is available and the table is small enough to convert here.
do $$
declare
  n bigint;
begin
  if pg_catalog.to_regclass('public.audit_events') is null
     or (select relkind from pg_catalog.pg_class where oid = pg_catalog.to_regclass('public.audit_events')) = 'p'
     or not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_partman') then
    return;
  end if;
  select count(*) into n from (select 1 from public.audit_events limit 1000001) s;
  if n > 1000000 then
    raise warning 'audit_events holds more than 1,000,000 rows: not partitioned by this migration. Run select audit_private.partition_audit_events(); in a maintenance window.';
    return;
  end if;
  begin
    raise notice '%', audit_private.partition_audit_events();
  exception when others then
    raise warning 'audit_events was not partitioned: %', sqlerrm;
  end;
end $$;
