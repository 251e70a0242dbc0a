-- `q`: a case-insensitive substring of message, operation_type or operator,
-- found through a pg_trgm index instead of a scan of every row in range.
--
-- The three fields are searched as one text, written once in
-- audit_private.audit_events_search_expr: the index is built on it and the
-- WHERE builder asks the same expression, so the two cannot drift. The
-- fields are joined by U+001F (the unit separator). A match of a `q` that
-- has no U+001F in it cannot cover a separator, so it lies inside one field:
-- the one ILIKE on the joined text keeps exactly the events that one of the
-- three per-field ILIKEs keeps. A `q` with U+001F in it (nobody types one,
-- but a field may hold one) is asked field by field, without the index.
--
-- A `q` of three characters or more is a bitmap scan of the trigram index
-- (its candidates rechecked against the ILIKE); one or two characters give
-- no trigram, so the planner keeps the other plans (the timestamp index,
-- filtering as it goes, or a scan of the range).
--
-- pg_trgm ships with Postgres (contrib), is enabled on Supabase and is
-- loaded by the PGlite store. Where the server does not have it, or the
-- migrating role may not create it, the index is left out with a NOTICE,
-- `q` scans as before and the store says so once at start-up.
-- extra_info is not searched: its text would make the index several times
-- larger and every insert slower (see bench/README.md).

create schema if not exists audit_private;

-- What q searches, as SQL text: the index is built on this expression and
-- the WHERE builder writes it into each query, so the two cannot drift (a
-- changed expression would leave the index unused, never give other
-- results). An expression, not a function called on each row: a function
-- with its own search_path, as every function here has, is never inlined;
-- setting and restoring the path on each call cost 2.6 us a row (3.5 s
-- against 0.9 s to test 1,000,000 rows in a scan), each insert would pay it
-- too, and every role that writes events would need EXECUTE on it.
create or replace function audit_private.audit_events_search_expr() returns text
language sql immutable parallel safe
set search_path = ''
as $$
  select $e$(coalesce(message, '') || pg_catalog.chr(31) || coalesce(operation_type, '') || pg_catalog.chr(31) || coalesce(operator, ''))$e$
$$;

-- The sample of what q searches that ANALYZE keeps for the index (its
-- most common values and histogram): how often a word occurs. pg_statistic
-- is readable by its owner only, so this reads it as the owner; it returns
-- nothing of other tables.
create or replace function audit_private.audit_events_search_sample() returns text[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce((
    select (case when s.stakind1 in (1, 2) then s.stavalues1::text::text[] else '{}'::text[] end)
        || (case when s.stakind2 in (1, 2) then s.stavalues2::text::text[] else '{}'::text[] end)
        || (case when s.stakind3 in (1, 2) then s.stavalues3::text::text[] else '{}'::text[] end)
    from pg_catalog.pg_statistic s
    where s.starelid = pg_catalog.to_regclass('public.audit_events_search_trgm_idx') and s.staattnum = 1 and not s.stainherit
  ), '{}'::text[])
$$;

-- The q clause, for the WHERE builder: case-insensitive, `%`, `_` and `\`
-- literal. The index is asked the whole pattern, except when the pattern
-- holds a word that more than a tenth of the events have (`request` in
-- `request 4242`): each trigram of such a word is a posting list of most
-- of the table, and reading it cost 0.5 s at 10 M rows while filtering
-- nothing. The index is then asked the other words (of three letters or
-- more) and the whole pattern is checked field by field on what it finds;
-- both forms keep the same events.
create or replace function audit_private.audit_events_q_clause(p_q text) returns text
language plpgsql stable
set search_path = ''
as $$
declare
  searched constant text := audit_private.audit_events_search_expr();
  pattern constant text := '%' || replace(replace(replace(p_q, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  per_field constant text := format('(message ilike %1$L or operation_type ilike %1$L or operator ilike %1$L)', pattern);
  sample text[];
  word text;
  n integer;
  rare text[] := '{}';
  common boolean := false;
begin
  if strpos(p_q, chr(31)) > 0 then
    return per_field;
  end if;
  sample := audit_private.audit_events_search_sample();
  if cardinality(sample) > 0 then
    for word in select distinct w from regexp_split_to_table(p_q, '[^[:alnum:]]+') w where length(w) >= 3 loop
      select count(*) into n from unnest(sample) v where v ilike '%' || word || '%';
      if n * 10 > cardinality(sample) then
        common := true;
      else
        rare := rare || word;
      end if;
    end loop;
  end if;
  if common and cardinality(rare) > 0 then
    return (select string_agg(format('%s ilike %L', searched, '%' || r || '%'), ' and ') from unnest(rare) r)
      || ' and ' || per_field;
  end if;
  return format('%s ilike %L', searched, pattern);
end $$;

-- Makes pg_trgm and the index where the server allows it; true when the
-- index is there. Run again by hand once pg_trgm is installed (the store's
-- start-up warning says so): `select audit_private.audit_events_search_index();`
create or replace function audit_private.audit_events_search_index() returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  opclass_schema text;
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_trgm') then
    if not exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_trgm') then
      raise notice 'pg_trgm is not available on this server: q (text search) scans the rows in range, without an index';
      return false;
    end if;
    begin
      create schema if not exists extensions;
      create extension if not exists pg_trgm with schema extensions;
    exception when insufficient_privilege or undefined_file or feature_not_supported or object_not_in_prerequisite_state then
      raise notice 'pg_trgm could not be created (%): q (text search) scans the rows in range, without an index', sqlerrm;
      return false;
    end;
  end if;
  -- where pg_trgm is, whichever schema it was installed in before
  select n.nspname into opclass_schema
  from pg_catalog.pg_opclass c
  join pg_catalog.pg_namespace n on n.oid = c.opcnamespace
  join pg_catalog.pg_am a on a.oid = c.opcmethod
  where c.opcname = 'gin_trgm_ops' and a.amname = 'gin';
  execute format('create index if not exists audit_events_search_trgm_idx on public.audit_events using gin (%s %I.gin_trgm_ops)',
    audit_private.audit_events_search_expr(), opclass_schema);
  return true;
end $$;

select audit_private.audit_events_search_index();

create or replace function audit_private.audit_events_where_positive(p_filters jsonb) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  clauses text[] := array['true'];
  col text;
  vals jsonb;
  val text;
  exact text[];
  alts text[];
  pattern text;
  wild boolean;
  i integer;
  c text;
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
    exact := array[]::text[];
    alts := array[]::text[];
    for val in select x from jsonb_array_elements_text(vals) as x loop
      if col not in ('operation_type', 'operator') or strpos(val, '*') = 0 then
        exact := exact || val;
        continue;
      end if;
      -- the value as a LIKE pattern (escape character: backslash)
      pattern := '';
      wild := false;
      i := 1;
      while i <= length(val) loop
        c := substr(val, i, 1);
        if c = '\' and substr(val, i + 1, 1) in ('*', '\') then
          i := i + 1;
          c := substr(val, i, 1);
          pattern := pattern || case when c = '\' then '\\' else '*' end;
        elsif c = '*' then
          pattern := pattern || '%';
          wild := true;
        elsif c in ('%', '_', '\') then
          pattern := pattern || '\' || c;
        else
          pattern := pattern || c;
        end if;
        i := i + 1;
      end loop;
      if wild then
        alts := alts || format('%I like %L', col, pattern);
      else
        -- only escaped stars: an exact value
        exact := exact || replace(replace(replace(pattern, '\\', chr(1)), '\', ''), chr(1), '\');
      end if;
    end loop;
    if cardinality(exact) = 1 then
      alts := format('%I = %L', col, exact[1]) || alts;
    elsif cardinality(exact) > 1 then
      alts := format('%I = any(%L::text[])', col, exact) || alts;
    end if;
    if cardinality(alts) = 1 then
      clauses := clauses || alts[1];
    elsif cardinality(alts) > 1 then
      clauses := clauses || ('(' || array_to_string(alts, ' or ') || ')');
    end if;
  end loop;
  if coalesce(p_filters ->> 'q', '') <> '' then
    clauses := clauses || audit_private.audit_events_q_clause(p_filters ->> 'q');
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

revoke all on function audit_private.audit_events_search_expr() from public, anon, authenticated;
revoke all on function audit_private.audit_events_q_clause(text) from public, anon, authenticated;
revoke all on function audit_private.audit_events_search_sample() from public, anon, authenticated;
revoke all on function audit_private.audit_events_where_positive(jsonb) from public, anon, authenticated;
revoke all on function audit_private.audit_events_search_index() from public, anon, authenticated;
grant execute on function audit_private.audit_events_search_expr() to service_role;
grant execute on function audit_private.audit_events_q_clause(text) to service_role;
grant execute on function audit_private.audit_events_search_sample() to service_role;
grant execute on function audit_private.audit_events_where_positive(jsonb) to service_role;
