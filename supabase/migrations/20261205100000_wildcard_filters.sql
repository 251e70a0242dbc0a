-- Wildcard filters on operation_type and operator.
--
-- A filter value with a `*` in it is a pattern: `*` matches any run of
-- characters, so `eventsub_*` is a prefix, `*alice*` a substring and
-- `bot_*_failed` both; `\*` is a literal star and `\\` a literal backslash.
-- A value with no `*` is compared exactly, as before (a backslash in it is
-- just a backslash). Patterns are case-sensitive, like the exact match.
--
-- The indexes on (operation_type, timestamp) and (operator, timestamp) are
-- rebuilt with the pattern operator class, so that a prefix (`eventsub_*`,
-- LIKE 'eventsub\_%') is an index range whatever the database's collation;
-- equality uses the same index as before. A substring (`*alice*`) cannot use
-- a b-tree: it filters the rows the other predicates find.
--
-- The WHERE builder is created in audit_private, beside the upgrade's
-- severity rule: it is not API (20261205110000 moves the RPCs onto it and
-- drops the public one), and a file that may run again must not bring a
-- helper back into public.

create schema if not exists audit_private;

create index if not exists audit_events_operation_type_pattern_idx
  on public.audit_events (operation_type varchar_pattern_ops, "timestamp");
create index if not exists audit_events_operator_pattern_idx
  on public.audit_events (operator varchar_pattern_ops, "timestamp");
drop index if exists public.audit_events_operation_type_ts_idx;
drop index if exists public.audit_events_operator_ts_idx;

create or replace function audit_private.audit_events_where(p_filters jsonb) returns text
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

revoke all on function audit_private.audit_events_where(jsonb) from public;
