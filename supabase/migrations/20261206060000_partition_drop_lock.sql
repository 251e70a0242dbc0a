-- Retention by partition: the table taken before the trail's head, and
-- waited for at most 5 s. (20261205400000 is as it was applied; this file
-- redefines audit_drop_partitions with both changes.)
--
-- Lock order. The drop first locked the partition (share), then recorded
-- its rows in the trail (the trail's head row), then detached it, which
-- needs the parent in access exclusive mode. A writer holds the parent
-- (row exclusive) when its trigger asks for the head, so the drop and an
-- insert in flight could each wait for the other: a deadlock. The parent
-- is now taken first.
--
-- Lock timeout. In access exclusive mode behind a reader that holds the
-- table for long (an export streams for minutes in one transaction) the
-- drop waited without end, and every request after it queued behind the
-- drop's lock: ingest stalled for as long as the export ran. Now it gives
-- up after lock_timeout with 55P03, and retention deletes the expired rows
-- row by row instead (no such lock); the emptied partition is dropped by a
-- later run.

create or replace function public.audit_drop_partitions(p_before timestamptz, p_reason text, p_max integer default 1)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
set "TimeZone" = 'UTC'
set lock_timeout = '5s'
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
    -- The detach below needs the parent in access exclusive mode. Taken
    -- first, before the trail's head row: a writer holds the parent (row
    -- exclusive) when its trigger asks for the head, so taking them the
    -- other way round deadlocks with any insert in flight. Writers and
    -- readers wait for this partition's record and drop instead.
    lock table public.audit_events in access exclusive mode;
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

