-- Exclusions: `not.<field>=value` drops the events that match it.
--
-- The filter object may hold `not`, an object of the same fields as the
-- filters themselves (the column lists and `extra`). Each of its entries is
-- one exclusion, written exactly as the positive filter would be (lists mean
-- any of, `*` wildcards on operation_type and operator) and negated: an
-- event is dropped when it matches any one exclusion. An event whose column
-- is null is not matched by an exclusion on it, so it stays (`not.operator=x`
-- keeps the events without an operator).
--
-- The builder of 20261205100000 becomes audit_private.audit_events_where_positive
-- and audit_private.audit_events_where, the name every RPC calls, wraps it:
-- the rule for one field is written once, whether it keeps or drops.

create schema if not exists audit_private;

do $$
begin
  if to_regprocedure('audit_private.audit_events_where_positive(jsonb)') is null then
    alter function audit_private.audit_events_where(jsonb) rename to audit_events_where_positive;
  end if;
end $$;

create or replace function audit_private.audit_events_where(p_filters jsonb) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  clauses text[];
  k text;
  v jsonb;
  ek text;
  ev jsonb;
begin
  if p_filters is null then
    return 'true';
  end if;
  clauses := array[audit_private.audit_events_where_positive(p_filters - 'not')];
  if p_filters -> 'not' is null or jsonb_typeof(p_filters -> 'not') = 'null' then
    return clauses[1];
  end if;
  if jsonb_typeof(p_filters -> 'not') <> 'object' then
    raise exception 'not: expected an object of filters' using errcode = 'invalid_parameter_value';
  end if;
  for k, v in select key, value from jsonb_each(p_filters -> 'not') loop
    if k = 'extra' then
      if jsonb_typeof(v) <> 'object' then
        raise exception 'not.extra: expected an object' using errcode = 'invalid_parameter_value';
      end if;
      for ek, ev in select key, value from jsonb_each(v) loop
        clauses := clauses || format('not coalesce((%s), false)',
          audit_private.audit_events_where_positive(jsonb_build_object('extra', jsonb_build_object(ek, ev))));
      end loop;
    elsif k in ('operation_type', 'result', 'source', 'operator', 'severity', 'tenant_id',
                'actor_type', 'resource_type', 'resource_id', 'request_id') then
      clauses := clauses || format('not coalesce((%s), false)', audit_private.audit_events_where_positive(jsonb_build_object(k, v)));
    else
      raise exception 'not.%: not a field that can be excluded', k using errcode = 'invalid_parameter_value';
    end if;
  end loop;
  return array_to_string(clauses, ' and ');
end $$;

revoke all on function audit_private.audit_events_where(jsonb) from public, anon, authenticated;
revoke all on function audit_private.audit_events_where_positive(jsonb) from public, anon, authenticated;
grant execute on function audit_private.audit_events_where(jsonb) to service_role;
grant execute on function audit_private.audit_events_where_positive(jsonb) to service_role;
