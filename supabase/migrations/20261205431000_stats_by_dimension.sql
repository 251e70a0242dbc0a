-- /stats for a time range alone in time that does not grow with the rows.
--
-- audit_private.event_counts (20261205410000_stats_rollup.sql) keeps a row
-- per hour and combination of result, severity, source, operation_type and
-- tenant_id. Where those combinations rarely repeat within an hour (200
-- operation types by 200 tenants, drawn independently), it holds about a row
-- per event, and the range alone, the page's common question, added them
-- all up: 30 days took ~150 ms at 1 M events and more with every row.
--
-- audit_private.event_counts_by keeps, for each UTC hour and each of the
-- four columns /stats counts by (dim: result, severity, source,
-- operation_type), how many events have each value; event_counts_by_daily
-- the same by UTC day. Their rows are bounded by the values, not the
-- events: at most 3 + 5 + 8 + 200 an hour or day in the scale dataset. The
-- same statement-level triggers keep them in the writing transaction
-- (audit_private.rollup_sql writes all four tables, so rollup_add, the
-- partition-drop path and rollup_rebuild cover them too), upserting in key
-- order after the two combination tables (no deadlock); counts that reach 0
-- are deleted. The rows present when this file runs are counted once, from
-- the (exact) combination tables, under a lock that holds writers back
-- until the file commits.
--
-- public.audit_stats answers a filter of the range alone (start_date,
-- end_date, an empty q; no other filter, no `not`) from them: the counts by
-- value (total, by_*) from the whole days of the daily table and the hours
-- around them, the histogram from the rows of dim 'result' (hourly, or
-- daily for day buckets), and the part-hours at the two ends from the
-- events exactly as before. Every other filter takes the combination
-- tables' or the events' path as before; the output is the same JSON.
-- Measured at 1 M events over 90 days (bench/scale-dataset.sql, 2 cores
-- under other load, Postgres 15; 20 runs after 2 warm-ups, p50 / p95): 7
-- days 3 / 4 ms with day buckets (the page's; was 40-45 ms p50) and 8-10 /
-- 12-17 ms with hour buckets (was 54-56), 30 days 5-7 / 10-13 ms with day
-- buckets (was 194-200) and 19-20 / 22-32 ms with hour buckets (was
-- 252-271; 720 points). At 10 M the same: 4.5-8.3, 8.8-14, 6.4-11 and
-- 18-27 ms p50 (p95 at most 29 ms), where the combinations took 0.37,
-- 0.94-1.17, 2.2 and 3.3 s. The tables held 307,000 and 19,600 rows (42
-- MiB) at 1 M, 466,000 and 19,700 (82 MiB) at 10 M, against 1.7 M and 13 M
-- rows by combination: the rows read grow with the values an hour or day
-- holds (at most 216 here), not with the events.
--
-- Every statement may run again with no change.

create schema if not exists audit_private;

create table if not exists audit_private.event_counts_by (
  dim text not null,
  hour timestamptz not null,
  value text,
  n bigint not null,
  constraint event_counts_by_key unique nulls not distinct (dim, hour, value)
);

create table if not exists audit_private.event_counts_by_daily (
  dim text not null,
  day timestamptz not null,
  value text,
  n bigint not null,
  constraint event_counts_by_daily_key unique nulls not distinct (dim, day, value)
);

alter table audit_private.event_counts_by
  set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
alter table audit_private.event_counts_by_daily
  set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

comment on table audit_private.event_counts_by is
  'How many events public.audit_events holds per UTC hour, column (dim: result, severity, source, operation_type) and value; kept by triggers in the writing transaction. Read by public.audit_stats for a range alone.';
comment on table audit_private.event_counts_by_daily is
  'audit_private.event_counts_by by UTC day.';

-- The statements that add (p_sign 1) or subtract (p_sign -1) the rows of
-- p_rows to the four count tables, in this order: by combination hourly,
-- daily, then by column hourly, daily (every statement locks in the same
-- order, and within a table in key order). Subtracting deletes the rows
-- that reach 0: those of the statement's hours or days, found through the
-- key (the hours as an array: `in (select …)` made each deleting statement
-- scan the whole table, at 1 M events of the scale dataset 0.27 s for the
-- hourly counts by combination and 0.48 s by column, against 7 and 1 ms).
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
      and c.%2$I = any(array(select distinct pg_catalog.date_trunc(%2$L, r."timestamp", 'UTC') from %3$s r))$q$, t, col, p_rows);
    end if;
  end loop;
  foreach t in array array['event_counts_by', 'event_counts_by_daily'] loop
    col := case t when 'event_counts_by' then 'hour' else 'day' end;
    out := out || format($q$
    insert into audit_private.%1$I as c (dim, %2$I, value, n)
    select v.dim, pg_catalog.date_trunc(%2$L, r."timestamp", 'UTC'), v.value, %4$s * pg_catalog.count(*)
    from %3$s r
    cross join lateral (values ('result'::text, r.result::text), ('severity', r.severity::text),
                               ('source', r.source::text), ('operation_type', r.operation_type::text)) v(dim, value)
    group by 1, 2, 3
    order by 1, 2, 3
    on conflict (dim, %2$I, value) do update set n = c.n + excluded.n$q$,
      t, col, p_rows, p_sign);
    if p_sign < 0 then
      out := out || format($q$
    delete from audit_private.%1$I c
    where c.n = 0
      and c.dim = any('{operation_type,result,severity,source}'::text[])
      and c.%2$I = any(array(select distinct pg_catalog.date_trunc(%2$L, r."timestamp", 'UTC') from %3$s r))$q$, t, col, p_rows);
    end if;
  end loop;
  return array_to_string(out, ';');
end $$;

-- Counts every event again from scratch, in all four tables.
create or replace function audit_private.rollup_rebuild() returns void
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  lock table public.audit_events in share row exclusive mode;
  delete from audit_private.event_counts;
  delete from audit_private.event_counts_daily;
  delete from audit_private.event_counts_by;
  delete from audit_private.event_counts_by_daily;
  perform audit_private.rollup_add('public.audit_events', 1);
end $$;

-- The first count, from the combination tables (exact, and at most a row
-- per event): writers wait for the lock, then see the new rollup_sql. Once
-- counted, the table is empty only when there is no event (a re-run counts
-- nothing twice).
do $$
begin
  lock table public.audit_events in share row exclusive mode;
  if not exists (select 1 from audit_private.event_counts_by) then
    insert into audit_private.event_counts_by (dim, hour, value, n)
    select v.dim, c.hour, v.value, sum(c.n)
    from audit_private.event_counts c
    cross join lateral (values ('result'::text, c.result::text), ('severity', c.severity::text),
                               ('source', c.source::text), ('operation_type', c.operation_type::text)) v(dim, value)
    group by 1, 2, 3
    having sum(c.n) <> 0
    order by 1, 2, 3;
  end if;
  if not exists (select 1 from audit_private.event_counts_by_daily) then
    insert into audit_private.event_counts_by_daily (dim, day, value, n)
    select v.dim, c.day, v.value, sum(c.n)
    from audit_private.event_counts_daily c
    cross join lateral (values ('result'::text, c.result::text), ('severity', c.severity::text),
                               ('source', c.source::text), ('operation_type', c.operation_type::text)) v(dim, value)
    group by 1, 2, 3
    having sum(c.n) <> 0
    order by 1, 2, 3;
  end if;
end $$;

-- Whether the filters are the range alone: start_date, end_date, an empty
-- q, and keys the WHERE builder ignores (a column's JSON null, a null or
-- empty `not`).
create or replace function audit_private.rollup_range_only(p_filters jsonb) returns boolean
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
    if k in ('start_date', 'end_date') then
      if jsonb_typeof(v) <> 'string' then
        return false;
      end if;
    elsif k = 'q' then
      if coalesce(p_filters ->> 'q', '') <> '' then
        return false;
      end if;
    elsif k = 'not' then
      if not (jsonb_typeof(v) = 'null' or v = '{}'::jsonb) then
        return false;
      end if;
    elsif k in ('result', 'severity', 'source', 'operation_type', 'tenant_id') then
      if jsonb_typeof(v) <> 'null' then
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
  ev text[] := array[]::text[];
  by_src text;
  hist_src text;
  covered boolean := audit_private.rollup_covers(p_filters);
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
  if covered then
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
  end if;
  if covered and h1 < h2 and audit_private.rollup_range_only(p_filters) then
    -- the range alone: the counts by column. The events of the part-hours
    -- (by combination, as below), then the whole days [d1, d2) from the
    -- daily counts and the hours [h1, d1) and [d2, h2) from the hourly ones
    -- (for the histogram's hour buckets, every hour from the hourly ones)
    facets := audit_private.audit_events_where(p_filters - 'start_date' - 'end_date' - 'q');
    if less_before then
      ev := ev || format($q$
        select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC') as t, -count(*) as n
        from public.audit_events where %s and "timestamp" >= %L::timestamptz and "timestamp" < %L::timestamptz
        group by 1, 2, 3, 4, 5$q$, facets, h1, s);
    elsif s is not null then
      ev := ev || format($q$
        select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC') as t, count(*) as n
        from public.audit_events where %s and "timestamp" < %L::timestamptz
        group by 1, 2, 3, 4, 5$q$, where_sql, h1);
    end if;
    if less_after then
      ev := ev || format($q$
        select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), -count(*)
        from public.audit_events where %s and "timestamp" > %L::timestamptz and "timestamp" < %L::timestamptz
        group by 1, 2, 3, 4, 5$q$, facets, e, h2);
    elsif e is not null then
      ev := ev || format($q$
        select result, operation_type, source, severity, date_trunc('hour', "timestamp" at time zone 'UTC'), count(*)
        from public.audit_events where %s and "timestamp" >= %L::timestamptz
        group by 1, 2, 3, 4, 5$q$, where_sql, h2);
    end if;
    if cardinality(ev) = 0 then
      ev := array[$q$select null::varchar as result, null::varchar as operation_type, null::varchar as source,
                     null::varchar as severity, null::timestamp as t, 0::bigint as n where false$q$];
    end if;
    d1 := date_trunc('day', h1, 'UTC');
    if d1 < h1 then
      d1 := d1 + interval '1 day';
    end if;
    d2 := date_trunc('day', h2, 'UTC');
    if d1 >= d2 then
      d1 := h2;
      d2 := h2;
    end if;
    by_src := format($q$
        select dim, value, n from audit_private.event_counts_by
        where dim in ('operation_type', 'result', 'severity', 'source') and hour >= %1$L::timestamptz and hour < %2$L::timestamptz
        union all
        select dim, value, n from audit_private.event_counts_by_daily
        where dim in ('operation_type', 'result', 'severity', 'source') and day >= %2$L::timestamptz and day < %3$L::timestamptz
        union all
        select dim, value, n from audit_private.event_counts_by
        where dim in ('operation_type', 'result', 'severity', 'source') and hour >= %3$L::timestamptz and hour < %4$L::timestamptz
        union all
        select v.dim, v.value, ev.n from ev
        cross join lateral (values ('result'::text, ev.result::text), ('severity', ev.severity::text),
                                   ('source', ev.source::text), ('operation_type', ev.operation_type::text)) v(dim, value)$q$,
      h1, d1, d2, h2);
    if unit = 'day' then
      hist_src := format($q$
        select value, hour at time zone 'UTC' as t, n from audit_private.event_counts_by
        where dim = 'result' and hour >= %1$L::timestamptz and hour < %2$L::timestamptz
        union all
        select value, day at time zone 'UTC', n from audit_private.event_counts_by_daily
        where dim = 'result' and day >= %2$L::timestamptz and day < %3$L::timestamptz
        union all
        select value, hour at time zone 'UTC', n from audit_private.event_counts_by
        where dim = 'result' and hour >= %3$L::timestamptz and hour < %4$L::timestamptz$q$, h1, d1, d2, h2);
    else
      hist_src := format($q$
        select value, hour at time zone 'UTC' as t, n from audit_private.event_counts_by
        where dim = 'result' and hour >= %1$L::timestamptz and hour < %2$L::timestamptz$q$, h1, h2);
    end if;
    execute format($q$
      with ev (result, operation_type, source, severity, t, n) as materialized (%s),
      f as (
        select dim, value, sum(n)::bigint as n from (%s) s
        group by dim, value
        having sum(n) <> 0
      ),
      h as (
        select date_trunc(%L, t) as bucket, value as result, sum(n)::bigint as n
        from (%s union all select result, t, n from ev) s
        group by 1, 2
        having sum(n) <> 0
      )
      select jsonb_build_object(
        'total', coalesce((select sum(n)::bigint from f where dim = 'result'), 0),
        'by_result', coalesce((select jsonb_object_agg(value, n) from f where dim = 'result'), '{}'::jsonb),
        'by_operation_type', coalesce((select jsonb_object_agg(value, n) from f where dim = 'operation_type'), '{}'::jsonb),
        'by_source', coalesce((select jsonb_object_agg(value, n) from f where dim = 'source'), '{}'::jsonb),
        'by_severity', coalesce((select jsonb_object_agg(value, n) from f where dim = 'severity'), '{}'::jsonb),
        'histogram', jsonb_build_object('bucket', %L, 'points', coalesce((
          select jsonb_agg(jsonb_build_object(
                   'start', to_char(bucket, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'success', coalesce(s, 0), 'failure', coalesce(f, 0), 'warning', coalesce(w, 0)) order by bucket)
          from (
            select bucket,
                   sum(n) filter (where result = 'success') as s,
                   sum(n) filter (where result = 'failure') as f,
                   sum(n) filter (where result = 'warning') as w
            from h group by bucket
          ) x), '[]'::jsonb))
      )$q$, array_to_string(ev, ' union all '), by_src, unit, hist_src, unit) into out;
  else
    if covered and h1 < h2 then
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
  end if;
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

revoke all on audit_private.event_counts_by from public, anon, authenticated;
revoke all on audit_private.event_counts_by_daily from public, anon, authenticated;
grant select on audit_private.event_counts_by to service_role;
grant select on audit_private.event_counts_by_daily to service_role;
revoke all on function audit_private.rollup_sql(text, integer) from public, anon, authenticated;
revoke all on function audit_private.rollup_rebuild() from public, anon, authenticated;
revoke all on function audit_private.rollup_range_only(jsonb) from public, anon, authenticated;
revoke all on function public.audit_stats(jsonb, text, text) from public, anon, authenticated;
grant execute on function audit_private.rollup_sql(text, integer) to service_role;
grant execute on function audit_private.rollup_range_only(jsonb) to service_role;
grant execute on function public.audit_stats(jsonb, text, text) to service_role;

comment on function public.audit_stats(jsonb, text, text) is
  'Counts of matching events by result, operation_type, source and severity, a histogram (p_bucket hour or day, UTC), and with p_group_by (extra_info keys, comma-separated) the 50 most frequent values or combinations. A range alone is answered from the counts by column (audit_private.event_counts_by, _by_daily); filters only on the range, result, severity, source, operation_type and tenant_id from the hourly and daily counts by combination (exact).';
