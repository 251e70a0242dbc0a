-- The partitioning benchmark's data (bench/partitioning.md): 1,000,000 events over 90 days
-- into a migrated, partitioned public.audit_events (a daily partition for each
-- of the 90 days first), and the same rows in public.flat_events, a plain table
-- with the same indexes and insert triggers: the unpartitioned baseline.
-- psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -f bench/partitioning-data.sql <database>
\timing on
select partman.create_partition_time('public.audit_events', array(select generate_series(date_trunc('day', now(), 'UTC') - interval '91 days', date_trunc('day', now(), 'UTC') - interval '1 day', interval '1 day')));
select audit_private.secure_event_partitions();
do $$
begin
  for b in 0..9 loop
    insert into public.audit_events (id, "timestamp", source, operator, operation_type, result, message, extra_info, severity, tenant_id)
    select gen_random_uuid(), now() - (random() * interval '90 days'), (array['api-service','frontend','system','background-job'])[1 + (i % 4)],
           'user' || (i % 500) || '@example.com', (array['login','scan_process','config_update','export','stock_price_download','cache_refresh'])[1 + (i % 6)],
           (array['success','success','success','failure','warning'])[1 + (i % 5)], 'event ' || i, jsonb_build_object('n', i),
           (array['debug','info','warning','error','critical'])[1 + (i % 5)], 'tenant-' || (i % 20)
    from generate_series(b * 100000 + 1, (b + 1) * 100000) i;
    commit;
  end loop;
end $$;
analyze public.audit_events;
-- the unpartitioned baseline
create table public.flat_events (like public.audit_events including defaults including constraints);
alter table public.flat_events add primary key (id);
insert into public.flat_events select * from public.audit_events;
create index on public.flat_events ("timestamp", id);
create index on public.flat_events (operation_type varchar_pattern_ops, "timestamp");
create index on public.flat_events (operator varchar_pattern_ops, "timestamp");
create index on public.flat_events (request_id) where request_id is not null;
create index on public.flat_events (resource_type, resource_id, "timestamp") where resource_id is not null;
create index on public.flat_events (tenant_id, "timestamp") where tenant_id is not null;
create trigger flat_default_severity before insert on public.flat_events for each row when (new.severity is null) execute function audit_private.audit_events_default_severity();
create trigger flat_trail_insert after insert on public.flat_events referencing new table as new_rows for each statement execute function audit_private.trail_after_insert();
analyze public.flat_events;
