-- Statistics and the only ways rows leave audit_events: retention and admin purge.
--
-- audit_stats answers the page's facets, its histogram and the seeds'
-- "group by a details field" in one scan of the matching rows (GROUPING SETS).
-- audit_delete_events removes at most p_limit matching rows per call, so the
-- caller deletes in bounded chunks, each its own short transaction.

-- Counts by result, operation_type, source and severity, a histogram by
-- p_bucket ('hour' or 'day', UTC) with per-result counts, and with p_group_by
-- (a key of extra_info) the 50 most frequent values of that key.
create or replace function public.audit_stats(
  p_filters jsonb default '{}'::jsonb,
  p_bucket text default 'hour',
  p_group_by text default null
) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
  where_sql text := public.audit_events_where(p_filters);
  unit text := case when p_bucket = 'day' then 'day' else 'hour' end;
  out jsonb;
  groups jsonb;
begin
  if p_group_by is not null and p_group_by !~ '^[A-Za-z0-9_.:-]{1,100}$' then
    raise exception 'invalid extra_info key: %', p_group_by using errcode = 'invalid_parameter_value';
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
  if p_group_by is not null then
    execute format($q$
      select coalesce(jsonb_agg(jsonb_build_object('value', v, 'count', n) order by n desc, v), '[]'::jsonb)
      from (
        select extra_info ->> %L as v, count(*) as n
        from public.audit_events
        where %s and extra_info ? %L
        group by 1 order by 2 desc, 1 limit 50
      ) t$q$, p_group_by, where_sql, p_group_by) into groups;
    out := out || jsonb_build_object('groups', groups);
  end if;
  return out;
end $$;

-- Deletes at most p_limit events that match p_filters, oldest first, and
-- returns how many it deleted; call it again until it returns less than
-- p_limit. SECURITY DEFINER: nobody else holds DELETE on the table.
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
    public.audit_events_where(p_filters), greatest(least(coalesce(p_limit, 5000), 100000), 1));
  get diagnostics n = row_count;
  perform set_config('audit.allow_delete', '', true);
  return n;
end $$;

revoke delete on public.audit_events from service_role;

revoke all on function public.audit_stats(jsonb, text, text) from public, anon, authenticated;
revoke all on function public.audit_delete_events(jsonb, integer) from public, anon, authenticated;
grant execute on function public.audit_stats(jsonb, text, text) to service_role;
grant execute on function public.audit_delete_events(jsonb, integer) to service_role;
