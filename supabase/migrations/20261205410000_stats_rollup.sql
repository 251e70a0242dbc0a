-- /stats in time that does not grow with the rows, and still exact.
--
-- audit_private.event_counts holds, for each UTC hour and each combination
-- of result, severity, source, operation_type and tenant_id that occurs in
-- it, how many events there are; audit_private.event_counts_daily the same
-- by UTC day. Statement-level triggers keep both in the transaction that
-- inserts or deletes the events (from the statement's transition table: one
-- grouped upsert per table and statement), so a reader sees the counts of
-- exactly the rows its snapshot sees: no lag, no drift. The rows present
-- when this file runs are counted once, under a lock that holds writers
-- back until the file commits.
--
-- public.audit_stats answers from them when every filter is on one of those
-- columns (start_date, end_date, result, severity, source, operation_type,
-- with `*` patterns too, tenant_id, and `not.` on the five columns): whole
-- days from the daily counts (day buckets), whole hours from the hourly
-- ones, the part-hours at the range's two ends from the events themselves
-- (the timestamp index), all read in one statement. The filters on the
-- columns are the WHERE builder's own text, applied to the counts' columns
-- of the same names and types, so a value matches there exactly when it
-- matches an event. Any other filter (q, operator, actor_type, resource,
-- request_id, extra) counts the events as before. A part-hour over half its
-- hour is the hour's count minus the events of the rest, so at most half an
-- hour of events is read at each end. Measured at 1 M and 10 M rows over 90
-- days (2 cores, Postgres 15), the range alone, 7 and 30 days: p95 1-10 ms
-- at both sizes, from 0.3-2.0 s at 1 M and 4.0-11.4 s at 10 M; from hourly
-- counts alone 30 days took 90 ms (~47,000 rows to add up).
--
-- Writers: every statement upserts its rows in key order (hours, then
-- days), so two statements lock them in the same order (no deadlock). The
-- triggers are named to fire after the trail's (triggers on one event fire
-- in name order): the trail's head row already serialises writing
-- statements until commit, and the hot rows of the current hour would
-- otherwise be held while a statement waits for it (4 writers of
-- 1000-event COPY batches, one run each under the same load: 0.63 of the
-- rate without the counts when after the trail, 0.51 before it). Each statement leaves a dead version of the
-- hot rows: the tables are vacuumed after a few thousand.
--
-- Every statement may run again with no change.

create schema if not exists audit_private;

create table if not exists audit_private.event_counts (
  hour timestamptz not null,
  result varchar(20),
  severity varchar(10),
  source varchar(50),
  operation_type varchar(100),
  tenant_id varchar(255),
  n bigint not null,
  constraint event_counts_key unique nulls not distinct (hour, result, severity, source, operation_type, tenant_id)
);

-- The same by UTC day, for ranges of days: 30 days are ~700 hours of
-- combinations to add up (90 ms at 66 combinations an hour), or 30 days.
create table if not exists audit_private.event_counts_daily (
  day timestamptz not null,
  result varchar(20),
  severity varchar(10),
  source varchar(50),
  operation_type varchar(100),
  tenant_id varchar(255),
  n bigint not null,
  constraint event_counts_daily_key unique nulls not distinct (day, result, severity, source, operation_type, tenant_id)
);

alter table audit_private.event_counts
  set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
alter table audit_private.event_counts_daily
  set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

comment on table audit_private.event_counts is
  'How many events public.audit_events holds per UTC hour and combination of result, severity, source, operation_type and tenant_id; kept by triggers in the writing transaction. Read by public.audit_stats.';
comment on table audit_private.event_counts_daily is
  'audit_private.event_counts by UTC day.';

-- The statement(s) that add (p_sign 1) or subtract (p_sign -1) the rows of
-- p_rows to the counts: p_rows names a relation with the events' columns,
-- a trigger's transition table or a table (a partition about to be
-- dropped). For `execute`: a transition table is visible only to the
-- trigger's own function, so the triggers execute this text themselves;
-- other callers use audit_private.rollup_add. Subtracting deletes the rows
-- that reach 0.
create or replace function audit_private.rollup_sql(p_rows text, p_sign integer) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  out text[] := array[]::text[];
  t text;
  col text;
begin
  if p_sign is null or p_sign not in (1, -1) then
    raise exception 'rollup_sql: p_sign is 1 or -1' using errcode = 'invalid_parameter_value';
  end if;
  -- hours first, then days: every statement locks in the same order
  foreach t in array array['event_counts', 'event_counts_daily'] loop
    col := case t when 'event_counts' then 'hour' else 'day' end;
    out := out || format($q$
    insert into audit_private.%1$I as c (%2$I, result, severity, source, operation_type, tenant_id, n)
    select pg_catalog.date_trunc(%2$L, r."timestamp", 'UTC'), r.result, r.severity, r.source, r.operation_type, r.tenant_id,
           %4$s * pg_catalog.count(*)
    from %3$s r
    group by 1, 2, 3, 4, 5, 6
    order by 1, 2, 3, 4, 5, 6
    on conflict (%2$I, result, severity, source, operation_type, tenant_id) do update set n = c.n + excluded.n$q$,
      t, col, p_rows, p_sign);
    if p_sign < 0 then
      out := out || format($q$
    delete from audit_private.%1$I c
    where c.n = 0
      and c.%2$I in (select pg_catalog.date_trunc(%2$L, r."timestamp", 'UTC') from %3$s r)$q$, t, col, p_rows);
    end if;
  end loop;
  return array_to_string(out, ';');
end $$;

-- Adds (1) or subtracts (-1) the events of a table to the counts, in the
-- caller's transaction: before a partition of events is dropped or
-- detached as a whole (which fires no delete trigger), subtract it.
create or replace function audit_private.rollup_add(p_rows text, p_sign integer) returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  execute audit_private.rollup_sql(p_rows::regclass::text, p_sign);
end $$;

-- Counts every event again from scratch (what this file does the first
-- time; for a table made anew, e.g. when its rows move to another).
create or replace function audit_private.rollup_rebuild() returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  lock table public.audit_events in share row exclusive mode;
  delete from audit_private.event_counts;
  delete from audit_private.event_counts_daily;
  perform audit_private.rollup_add('public.audit_events', 1);
end $$;

create or replace function audit_private.rollup_after_insert() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  execute audit_private.rollup_sql('new_rows', 1);
  return null;
end $$;

create or replace function audit_private.rollup_after_delete() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  execute audit_private.rollup_sql('old_rows', -1);
  return null;
end $$;

-- Made once, with the first count (a re-run finds them and counts nothing twice).
do $$
begin
  if not exists (select 1 from pg_catalog.pg_trigger
                 where tgrelid = 'public.audit_events'::regclass and tgname = 'audit_events_volume_insert') then
    perform audit_private.rollup_rebuild();
    create trigger audit_events_volume_insert
      after insert on public.audit_events
      referencing new table as new_rows
      for each statement execute function audit_private.rollup_after_insert();
    create trigger audit_events_volume_delete
      after delete on public.audit_events
      referencing old table as old_rows
      for each statement execute function audit_private.rollup_after_delete();
  end if;
end $$;

-- Whether the rollup can answer these filters: every key one of its
-- columns, the range, or one the WHERE builder ignores (an empty q).
create or replace function audit_private.rollup_covers(p_filters jsonb) returns boolean
language plpgsql immutable
set search_path = ''
as $$
declare
  k text;
  v jsonb;
begin
  if p_filters is null then
    return true;
  end if;
  if jsonb_typeof(p_filters) <> 'object' then
    return false;
  end if;
  for k, v in select key, value from pg_catalog.jsonb_each(p_filters) loop
    if k in ('result', 'severity', 'source', 'operation_type', 'tenant_id') then
      continue;
    elsif k in ('start_date', 'end_date') then
      if jsonb_typeof(v) <> 'string' then
        return false;
      end if;
    elsif k = 'q' then
      if coalesce(p_filters ->> 'q', '') <> '' then
        return false;
      end if;
    elsif k = 'not' then
      if jsonb_typeof(v) = 'object' then
        if exists (select 1 from pg_catalog.jsonb_object_keys(v) as nk
                   where nk not in ('result', 'severity', 'source', 'operation_type', 'tenant_id')) then
          return false;
        end if;
      elsif jsonb_typeof(v) <> 'null' then
        return false;
      end if;
    else
      return false;
    end if;
  end loop;
  return true;
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
  s timestamptz;
  e timestamptz;
  h1 timestamptz := '-infinity';
  h2 timestamptz := 'infinity';
  d1 timestamptz;
  d2 timestamptz;
  facets text;
  src text;
  agg text := 'count(*)';
  keep text := 'true';
  less_before boolean := false;
  less_after boolean := false;
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
  -- the rows to count: the events, or (filters the counts cover) the counts
  -- of the hours [h1, h2) with the events of the part-hours around them
  -- added or subtracted
  src := format($q$select result, operation_type, source, severity, "timestamp" at time zone 'UTC' as t
                   from public.audit_events where %s$q$, where_sql);
  if audit_private.rollup_covers(p_filters) then
    s := (p_filters ->> 'start_date')::timestamptz;
    e := (p_filters ->> 'end_date')::timestamptz;
    -- a part-hour at an end: its events are counted, or when they are more
    -- than half of the hour the whole hour is taken from the counts and the
    -- events of the other part subtracted (at most half an hour of events)
    if s is not null then
      h1 := date_trunc('hour', s, 'UTC');
      if h1 < s then
        if s - h1 <= interval '30 minutes' then
          less_before := true;
        else
          h1 := h1 + interval '1 hour';
        end if;
      end if;
    end if;
    if e is not null then
      -- end_date is inclusive: the hour that ends right after it is whole
      h2 := date_trunc('hour', e + interval '1 microsecond', 'UTC');
      if isfinite(e) and e + interval '1 microsecond' - h2 > interval '30 minutes' then
        h2 := h2 + interval '1 hour';
        less_after := true;
      end if;
    end if;
    if h1 < h2 then
      agg := 'sum(n)::bigint';
      -- what was subtracted may leave a value or a bucket with no event
      keep := 'sum(n) <> 0';
      facets := audit_private.audit_events_where(p_filters - 'start_date' - 'end_date' - 'q');
      -- day buckets: the whole days [d1, d2) from the daily counts, the
      -- hours around them from the hourly ones
      d1 := h2;
      d2 := h2;
      if unit = 'day' then
        d1 := date_trunc('day', h1, 'UTC');
        if d1 < h1 then
          d1 := d1 + interval '1 day';
        end if;
        d2 := date_trunc('day', h2, 'UTC');
        if d1 >= d2 then
          d1 := h2;
          d2 := h2;
        end if;
      end if;
      src := format($q$select result, operation_type, source, severity, hour at time zone 'UTC' as t, n
                       from audit_private.event_counts
                       where hour >= %L::timestamptz and hour < %L::timestamptz and %s$q$, h1, d1, facets);
      if d1 < d2 then
        src := src || format($q$ union all
          select result, operation_type, source, severity, day at time zone 'UTC', n
          from audit_private.event_counts_daily
          where day >= %L::timestamptz and day < %L::timestamptz and %s$q$, d1, d2, facets);
      end if;
      if d2 < h2 then
        src := src || format($q$ union all
          select result, operation_type, source, severity, hour at time zone 'UTC', n
          from audit_private.event_counts
          where hour >= %L::timestamptz and hour < %L::timestamptz and %s$q$, d2, h2, facets);
      end if;
      if less_before then
        src := src || format($q$ union all
          select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), -count(*)
          from public.audit_events where %s and "timestamp" >= %L::timestamptz and "timestamp" < %L::timestamptz
          group by 1, 2, 3, 4, 5$q$, facets, h1, s);
      elsif s is not null then
        src := src || format($q$ union all
          select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), count(*)
          from public.audit_events where %s and "timestamp" < %L::timestamptz
          group by 1, 2, 3, 4, 5$q$, where_sql, h1);
      end if;
      if less_after then
        src := src || format($q$ union all
          select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), -count(*)
          from public.audit_events where %s and "timestamp" > %L::timestamptz and "timestamp" < %L::timestamptz
          group by 1, 2, 3, 4, 5$q$, facets, e, h2);
      elsif e is not null then
        src := src || format($q$ union all
          select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), count(*)
          from public.audit_events where %s and "timestamp" >= %L::timestamptz
          group by 1, 2, 3, 4, 5$q$, where_sql, h2);
      end if;
    end if;
  end if;
  execute format($q$
    with g as (
      select result, operation_type, source, severity,
             date_trunc(%L, t) as bucket,
             grouping(result, operation_type, source, severity, date_trunc(%L, t)) as gid,
             %s as n
      from (%s) s
      group by grouping sets ((result), (operation_type), (source), (severity),
                              (date_trunc(%L, t), result), ())
      having %s
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
    )$q$, unit, unit, agg, src, unit, keep, unit) into out;
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

revoke all on audit_private.event_counts from public, anon, authenticated;
revoke all on audit_private.event_counts_daily from public, anon, authenticated;
grant select on audit_private.event_counts to service_role;
grant select on audit_private.event_counts_daily to service_role;
revoke all on function audit_private.rollup_sql(text, integer) from public, anon, authenticated;
revoke all on function audit_private.rollup_add(text, integer) from public, anon, authenticated;
revoke all on function audit_private.rollup_rebuild() from public, anon, authenticated;
revoke all on function audit_private.rollup_after_insert() from public, anon, authenticated;
revoke all on function audit_private.rollup_after_delete() from public, anon, authenticated;
revoke all on function audit_private.rollup_covers(jsonb) from public, anon, authenticated;
revoke all on function public.audit_stats(jsonb, text, text) from public, anon, authenticated;
grant execute on function audit_private.rollup_sql(text, integer) to service_role;
grant execute on function audit_private.rollup_after_insert() to service_role;
grant execute on function audit_private.rollup_after_delete() to service_role;
grant execute on function audit_private.rollup_covers(jsonb) to service_role;
grant execute on function public.audit_stats(jsonb, text, text) to service_role;

comment on function public.audit_stats(jsonb, text, text) is
  'Counts of matching events by result, operation_type, source and severity, a histogram (p_bucket hour or day, UTC), and with p_group_by (extra_info keys, comma-separated) the 50 most frequent values or combinations. Filters only on the range, result, severity, source, operation_type and tenant_id are answered from the hourly and daily counts (exact).';
