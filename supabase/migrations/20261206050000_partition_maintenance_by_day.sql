-- Partition maintenance moves one day at a time, and takes the table
-- before anything else.
--
-- Rows the default partition caught (a backfill, a clock ahead) used to be
-- moved to partitions of their own days all in the maintenance call's one
-- transaction, so every reader and writer waited for the whole move (1 M
-- rows over 90 days: 95 s, and the API's reads answered 503 meanwhile).
-- Now a call moves the oldest day the default partition holds and commits;
-- the caller calls again while "backlog" is true (the API and the library
-- do: maintainPartitions in @audit/core), so each wait is one day's rows.
-- pg_partman's run_maintenance (making the coming days' partitions) runs
-- once the default partition is empty: a premade day would fail while the
-- default partition held rows of that day.
--
-- Making a partition attaches it beside the default one, which locks the
-- default partition; a reader or writer locks the parent first, then the
-- partitions. Taking them the other way round deadlocked: with a reader of
-- the newest events every 20 ms, the move of 10 days failed 10 of its reads
-- with 40P01 (bench/partition-move.ts). So a call that has work to do locks
-- the parent first, in access exclusive mode, and waits for it at most
-- lock_timeout (5 s: behind a long export it gives up, raising 55P03, and
-- the next run tries again) rather than queueing every request behind it.
-- A call with nothing to move and no day to make ahead takes no lock.
--
-- Returns audit_partitioning() with "moved" (rows moved by this call) and
-- "backlog" (rows are left in the default partition). Same signature and
-- grants as before.

create or replace function public.audit_partition_maintenance() returns jsonb
language plpgsql volatile security definer
set search_path = ''
set "TimeZone" = 'UTC'
set lock_timeout = '5s'
as $$
declare
  v_schema text;
  v_default regclass;
  v_premake integer;
  v_moved bigint := 0;
  v_backlog boolean := false;
  v_ahead boolean;
begin
  select n.nspname into v_schema
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman';
  if v_schema is null or (select relkind from pg_catalog.pg_class where oid = pg_catalog.to_regclass('public.audit_events')) is distinct from 'p' then
    return public.audit_partitioning() || jsonb_build_object('moved', 0, 'backlog', false);
  end if;
  execute pg_catalog.format('select premake from %I.part_config where parent_table = %L', v_schema, 'public.audit_events') into v_premake;
  select d.relid into v_default from audit_private.event_partitions() d where d.is_default;
  if v_default is not null then
    execute pg_catalog.format('select exists (select 1 from %s)', v_default) into v_backlog;
  end if;
  -- pg_partman keeps `premake` days made after today's
  select coalesce(max(upper_bound), '-infinity') >= pg_catalog.date_trunc('day', pg_catalog.now()) + (coalesce(v_premake, 0) + 1) * interval '1 day'
    into v_ahead from audit_private.event_partitions() where not is_default;
  if not v_backlog and v_ahead then
    return public.audit_partitioning() || jsonb_build_object('moved', 0, 'backlog', false);
  end if;
  lock table public.audit_events in access exclusive mode;
  if v_default is not null then
    execute pg_catalog.format('select exists (select 1 from %s)', v_default) into v_backlog;
    if v_backlog then
      -- The move deletes from and inserts into partitions directly, so the
      -- parent's trail triggers do not see it: the rows stay what they
      -- were, only their place changes.
      perform pg_catalog.set_config('audit.allow_delete', 'on', true);
      execute pg_catalog.format('select %I.partition_data_time(p_parent_table => %L, p_batch_count => 1, p_analyze => false)', v_schema, 'public.audit_events')
        into v_moved;
      perform pg_catalog.set_config('audit.allow_delete', '', true);
      execute pg_catalog.format('select exists (select 1 from %s)', v_default) into v_backlog;
    end if;
  end if;
  -- With rows left and none moved, nothing more will move: make the coming
  -- days anyway (and let its error, if any, say why).
  if not v_backlog or v_moved = 0 then
    execute pg_catalog.format('select %I.run_maintenance(p_parent_table => %L, p_analyze => false)', v_schema, 'public.audit_events');
  end if;
  perform audit_private.secure_event_partitions();
  return public.audit_partitioning() || jsonb_build_object('moved', coalesce(v_moved, 0), 'backlog', v_backlog);
end $$;

comment on function public.audit_partition_maintenance() is
  'Moves the oldest day of rows the default partition holds to a partition of that day, and once it is empty makes the coming days'' partitions of audit_events (pg_partman run_maintenance); secures new partitions. Returns audit_partitioning() with "moved" (rows) and "backlog" (call again while true). Does nothing unpartitioned.';
