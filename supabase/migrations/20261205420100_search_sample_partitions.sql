-- The q clause's sample of common words, on a partitioned table too.
--
-- audit_events_search_sample (20261205420000) reads the statistics ANALYZE
-- keeps for the trigram index. On a table partitioned by day (20261205400000)
-- that index is a partitioned index, which has no statistics of its own:
-- each partition's copy has them. The sample is now the values of the
-- index and of every copy attached to it, so a word in more than a tenth of
-- the events is found common whether the table is partitioned or not.
-- Only the 8 newest sets of statistics are read (by oid: the partitions made
-- last, the days being searched most): reading all of 100 daily partitions'
-- took ~30 ms a query at 1 M events.

create or replace function audit_private.audit_events_search_sample() returns text[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce(array_agg(v), '{}'::text[])
  from (
    select s.stakind1, s.stavalues1, s.stakind2, s.stavalues2, s.stakind3, s.stavalues3
    from pg_catalog.pg_statistic s
    where s.staattnum = 1 and not s.stainherit
      and s.starelid in (
        select pg_catalog.to_regclass('public.audit_events_search_trgm_idx')
        union all
        select i.inhrelid from pg_catalog.pg_inherits i
        where i.inhparent = pg_catalog.to_regclass('public.audit_events_search_trgm_idx'))
    order by s.starelid desc
    limit 8
  ) s,
  unnest((case when s.stakind1 in (1, 2) then s.stavalues1::text::text[] else '{}'::text[] end)
      || (case when s.stakind2 in (1, 2) then s.stavalues2::text::text[] else '{}'::text[] end)
      || (case when s.stakind3 in (1, 2) then s.stavalues3::text::text[] else '{}'::text[] end)) as v
$$;

revoke all on function audit_private.audit_events_search_sample() from public, anon, authenticated;
grant execute on function audit_private.audit_events_search_sample() to service_role;
