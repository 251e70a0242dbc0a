-- The trail: a hash chain over everything written to, deleted from or erased
-- in public.audit_events, so that anyone holding an export, the checkpoints
-- and a signing key's public half can prove offline that the trail is
-- complete and unaltered (`audit-events verify`, README "Proving the trail is
-- complete").
--
-- Every writer (COPY, audit_insert_events over RPC, an old writer's plain
-- INSERT) ends in an INSERT or COPY into audit_events, so the chain is made
-- here, by statement-level triggers:
--   * each row's leaf is sha256 of the RFC 8785 (JCS) serialisation of its
--     commitment: its columns by name, where the free-text columns that may
--     hold personal data (operator, message, extra_info, ip_address,
--     user_agent) stand as the sha256 of their value, so that a value can be
--     erased later while its commitment stays;
--   * each INSERT/COPY statement appends one checkpoint: seq, the previous
--     checkpoint's hash, root = sha256 of the batch's leaves in id order,
--     the count, the ids, and hash = sha256(seq|kind|prev|root|count|reason);
--   * the chain's head is one row locked FOR UPDATE until commit, so
--     concurrent writers are serialised at their commit and the sequence
--     follows commit order;
--   * a DELETE statement appends a `delete` checkpoint with the removed rows'
--     leaves and the reason (`audit.delete_reason`), and an erasure an
--     `erase` checkpoint with the erased fields' hashes.
-- The leaf is computed by audit_private.leaves_query here and by the verifier in
-- packages/audit-core/src/trail/leaf.ts; test/trail.test.ts checks that
-- both give the same bytes.

create schema if not exists audit_private;
revoke all on schema audit_private from public, anon, authenticated;
grant usage on schema audit_private to service_role;

-- A JSON number as ECMAScript prints the IEEE 754 double nearest to it
-- (RFC 8785 section 3.2.2.3): the verifier reads numbers with JSON.parse,
-- so the commitment is to what any JSON reader sees. Postgres' float8
-- output with extra_float_digits = 1 is the shortest round-trip digit string
-- (Ryu), as ECMAScript's is; only the layout differs.
create or replace function audit_private.jcs_number(t text) returns text
language plpgsql immutable strict
set search_path = ''
set extra_float_digits = 1
as $$
declare
  n numeric := t::numeric;
  s text;
  m text[];
  digits text;
  point integer;
  k integer;
  sign text := '';
begin
  if abs(n) >= 1.7976931348623158e308 then
    return 'null'; -- JSON.parse gives Infinity, which JSON.stringify prints as null
  elsif abs(n) < 2.4703282292062328e-324 then
    return '0';
  end if;
  s := (n::float8)::text;
  if left(s, 1) = '-' then
    sign := '-';
    s := substr(s, 2);
  end if;
  m := regexp_match(s, '^([0-9]+)(?:\.([0-9]+))?(?:e([-+][0-9]+))?$');
  digits := m[1] || coalesce(m[2], '');
  point := length(m[1]) + coalesce(m[3]::integer, 0);
  -- leading zeros move the point left; trailing zeros are not digits
  k := length(digits) - length(ltrim(digits, '0'));
  digits := ltrim(digits, '0');
  point := point - k;
  digits := rtrim(digits, '0');
  k := length(digits);
  if k = 0 then
    return '0';
  elsif k <= point and point <= 21 then
    return sign || digits || repeat('0', point - k);
  elsif 0 < point and point <= 21 then
    return sign || left(digits, point) || '.' || substr(digits, point + 1);
  elsif -6 < point and point <= 0 then
    return sign || '0.' || repeat('0', -point) || digits;
  end if;
  return sign || left(digits, 1) || case when k > 1 then '.' || substr(digits, 2) else '' end
    || 'e' || case when point - 1 < 0 then '-' else '+' end || abs(point - 1)::text;
end $$;

-- A key's UTF-16 code units as hex, for the one case where their order
-- differs from the bytes' order: characters from U+E000 sort after the
-- surrogate pairs of U+10000 and above.
create or replace function audit_private.utf16_key(k text) returns text
language sql immutable strict
set search_path = ''
as $$
  select coalesce(string_agg(case when cp < 65536 then lpad(to_hex(cp), 4, '0')
                                  else lpad(to_hex(55296 + ((cp - 65536) >> 10)), 4, '0')
                                    || lpad(to_hex(56320 + ((cp - 65536) & 1023)), 4, '0') end, '' order by i), '')
  from (select ascii(c) as cp, i from regexp_split_to_table(k, '') with ordinality as s(c, i)) s
$$;

-- RFC 8785 serialisation of a jsonb value: object keys sorted by UTF-16 code
-- units, no whitespace, strings escaped as JSON.stringify does (Postgres'
-- escape_json escapes the same characters, control characters as \u00xx),
-- numbers by jcs_number.
create or replace function audit_private.jcs(v jsonb) returns text
language plpgsql immutable strict
set search_path = ''
as $$
declare
  t text := jsonb_typeof(v);
begin
  if t = 'object' then
    if exists (select 1 from jsonb_object_keys(v) as k where k ~ '[\uE000-\U0010FFFF]') then
      return (select '{' || coalesce(string_agg(to_json(k)::text || ':' || audit_private.jcs(x), ',' order by audit_private.utf16_key(k) collate "C"), '') || '}'
              from jsonb_each(v) as e(k, x));
    end if;
    return (select '{' || coalesce(string_agg(to_json(k)::text || ':' || audit_private.jcs(x), ',' order by k collate "C"), '') || '}'
            from jsonb_each(v) as e(k, x));
  elsif t = 'array' then
    return (select '[' || coalesce(string_agg(audit_private.jcs(x), ',' order by i), '') || ']'
            from jsonb_array_elements(v) with ordinality as a(x, i));
  elsif t = 'number' then
    if v::text ~ '^-?[0-9]{1,15}$' then
      return (v::text)::bigint::text; -- exact in a double; the cast drops a "-0" sign
    end if;
    return audit_private.jcs_number(v::text);
  end if;
  return v::text; -- string, true, false, null: as JSON.stringify prints them
end $$;

-- The leaves of a batch of rows, set-based in one query over the rows
-- (a trigger's transition table), so that a statement pays for one query,
-- not for several function calls per row (a function with its own
-- search_path is never inlined, and each call saves and restores it). This
-- returns the query's text for `execute … into ids, leaves using erased`:
-- each leaf is sha256 of the JCS object of the row's columns, keys sorted,
-- free-text columns as the sha256 of their value as a JSON string, or null
-- (ip_address as its output text, without a /32), the timestamp in UTC with
-- microseconds. extra_info is serialised in the query when it is an object
-- of strings, booleans, nulls and integers of at most 15 digits with no
-- character from U+E000 (what writers send), by audit_private.jcs
-- otherwise. Erased fields commit with the hash recorded at erasure ($1:
-- {"<id>": {"message": "<hex>", ...}}). ids and the 32-byte leaves come
-- back concatenated, both in id order.
create or replace function audit_private.leaves_query(p_rows text) returns text
language sql immutable
set search_path = ''
as $$
  select pg_catalog.format($q$
  select pg_catalog.array_agg(e.id order by e.id),
    pg_catalog.string_agg(pg_catalog.sha256(pg_catalog.convert_to(
      '{"actor_type":' || coalesce(pg_catalog.to_json(e.actor_type)::text, 'null')
      || ',"extra_info":' || coalesce(pg_catalog.to_json(x.f ->> 'extra_info')::text,
           '"' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(coalesce(j.flat, audit_private.jcs(nullif(e.extra_info, 'null'::jsonb))), 'UTF8')), 'hex') || '"', 'null')
      || ',"id":"' || e.id::text
      || '","ip_address":' || coalesce(pg_catalog.to_json(x.f ->> 'ip_address')::text,
           '"' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.to_json(e.ip_address) #>> '{}', 'UTF8')), 'hex') || '"', 'null')
      || ',"message":' || coalesce(pg_catalog.to_json(x.f ->> 'message')::text,
           '"' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(e.message, 'UTF8')), 'hex') || '"', 'null')
      || ',"operation_type":' || pg_catalog.to_json(e.operation_type)::text
      || ',"operator":' || coalesce(pg_catalog.to_json(x.f ->> 'operator')::text,
           '"' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(e.operator, 'UTF8')), 'hex') || '"', 'null')
      || ',"request_id":' || coalesce(pg_catalog.to_json(e.request_id)::text, 'null')
      || ',"resource_id":' || coalesce(pg_catalog.to_json(e.resource_id)::text, 'null')
      || ',"resource_type":' || coalesce(pg_catalog.to_json(e.resource_type)::text, 'null')
      || ',"result":' || pg_catalog.to_json(e.result)::text
      || ',"severity":' || coalesce(pg_catalog.to_json(e.severity)::text, 'null')
      || ',"source":' || pg_catalog.to_json(e.source)::text
      || ',"tenant_id":' || coalesce(pg_catalog.to_json(e.tenant_id)::text, 'null')
      || ',"timestamp":"' || pg_catalog.to_char(e."timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
      || '","user_agent":' || coalesce(pg_catalog.to_json(x.f ->> 'user_agent')::text,
           '"' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(e.user_agent, 'UTF8')), 'hex') || '"', 'null')
      || '}', 'UTF8')), ''::bytea order by e.id)
  from %s e
  cross join lateral (select $1::jsonb -> e.id::text as f) x
  left join lateral (
    select case when pg_catalog.bool_and(case pg_catalog.jsonb_typeof(m.v)
                                           when 'number' then pg_catalog.strpos(m.v::text, '.') = 0 and pg_catalog.length(m.v::text) < 16
                                           when 'object' then false when 'array' then false else true end)
                then '{' || pg_catalog.string_agg(pg_catalog.to_json(m.k)::text || ':' || m.v::text, ',' order by m.k collate "C") || '}' end as flat
    from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(e.extra_info) = 'object' then e.extra_info end) m(k, v)
  ) j on pg_catalog.jsonb_typeof(e.extra_info) = 'object' and e.extra_info <> '{}'::jsonb and e.extra_info::text !~ '[\uE000-\U0010FFFF]'
  $q$, p_rows)
$$;

-- One row's leaf (the same rule: audit_private.leaves_query), for checks and tools.
create or replace function audit_private.leaf(e public.audit_events, p_erased jsonb default null) returns bytea
language plpgsql stable
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_leaves bytea;
begin
  execute audit_private.leaves_query('(select ($2).*)') into v_ids, v_leaves
    using coalesce(pg_catalog.jsonb_build_object(e.id::text, p_erased), '{}'::jsonb), e;
  return v_leaves;
end $$;

create table if not exists public.audit_checkpoints (
  seq bigint primary key,
  kind text not null,
  created_at timestamptz not null default now(),
  prev_hash text not null,
  root text not null,
  count integer not null,
  ids uuid[] not null,
  -- insert, delete: the rows' 32-byte leaves in ids order; erase: the leaf of the erasure
  leaves bytea not null,
  -- erase: {"fields": {"message": "<sha256 hex>", ...}}
  detail jsonb,
  reason text,
  hash text not null,
  constraint audit_checkpoints_kind_check check (kind in ('insert', 'delete', 'erase'))
);

comment on table public.audit_checkpoints is
  'Append-only hash chain over audit_events: one row per insert or delete statement and per erasure. See README "Proving the trail is complete".';

-- The commitments of erased fields, by event (written by audit_erase_event,
-- in the chain as `erase` checkpoints): a deleted row's leaf is made from them.
create table if not exists audit_private.erased_fields (
  id uuid primary key,
  fields jsonb not null
);

create table if not exists audit_private.trail_head (
  one boolean primary key default true check (one),
  seq bigint not null,
  hash text not null
);
insert into audit_private.trail_head (one, seq, hash) values (true, 0, repeat('0', 64)) on conflict do nothing;

-- Appends one checkpoint after the head, which it locks until commit.
create or replace function audit_private.trail_append(p_kind text, p_ids uuid[], p_leaves bytea, p_detail jsonb, p_reason text)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  h record;
  n integer := coalesce(cardinality(p_ids), 0);
  r text;
  next_hash text;
begin
  if n = 0 then
    return null;
  end if;
  select seq, hash into h from audit_private.trail_head where one for update;
  r := encode(sha256(p_leaves), 'hex');
  next_hash := encode(sha256(convert_to(concat_ws('|', h.seq + 1, p_kind, h.hash, r, n, coalesce(p_reason, '')), 'UTF8')), 'hex');
  insert into public.audit_checkpoints (seq, kind, prev_hash, root, count, ids, leaves, detail, reason, hash)
  values (h.seq + 1, p_kind, h.hash, r, n, p_ids, p_leaves, p_detail, p_reason, next_hash);
  update audit_private.trail_head set seq = h.seq + 1, hash = next_hash where one;
  return h.seq + 1;
end $$;

create or replace function audit_private.trail_after_insert() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_leaves bytea;
begin
  execute audit_private.leaves_query('new_rows') into v_ids, v_leaves using '{}'::jsonb;
  perform audit_private.trail_append('insert', v_ids, v_leaves, null, null);
  return null;
end $$;

-- The reason a delete path gives with `set local audit.delete_reason = '…'`;
-- the sanctioned functions (audit.allow_delete) are named when none is given,
-- and a delete that went around them is recorded as unauthorised, which the
-- verifier reports.
create or replace function audit_private.trail_after_delete() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_leaves bytea;
  v_reason text := nullif(current_setting('audit.delete_reason', true), '');
begin
  if coalesce(current_setting('audit.allow_delete', true), '') <> 'on' then
    v_reason := 'unauthorised: ' || coalesce(v_reason, 'no reason given');
  end if;
  execute audit_private.leaves_query('old_rows') into v_ids, v_leaves
    using (select coalesce(pg_catalog.jsonb_object_agg(x.id::text, x.fields), '{}'::jsonb)
           from old_rows o join audit_private.erased_fields x on x.id = o.id);
  perform audit_private.trail_append('delete', v_ids, v_leaves, null,
                                     coalesce(v_reason, 'audit_delete_events'));
  return null;
end $$;

drop trigger if exists audit_events_trail_insert on public.audit_events;
create trigger audit_events_trail_insert
  after insert on public.audit_events
  referencing new table as new_rows
  for each statement execute function audit_private.trail_after_insert();

drop trigger if exists audit_events_trail_delete on public.audit_events;
create trigger audit_events_trail_delete
  after delete on public.audit_events
  referencing old table as old_rows
  for each statement execute function audit_private.trail_after_delete();

-- Rows written before the trail began: one first checkpoint covers them.
do $$
declare
  v_ids uuid[];
  v_leaves bytea;
begin
  if not exists (select 1 from public.audit_checkpoints) then
    execute audit_private.leaves_query('public.audit_events') into v_ids, v_leaves using '{}'::jsonb;
    perform audit_private.trail_append('insert', v_ids, v_leaves, null, 'rows present when the trail began');
  end if;
end $$;

-- Checkpoints are append-only, whoever asks: only the chain's own functions write them.
create or replace function audit_private.checkpoints_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'audit_checkpoints is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
end $$;

drop trigger if exists audit_checkpoints_append_only on public.audit_checkpoints;
create trigger audit_checkpoints_append_only
  before update or delete on public.audit_checkpoints
  for each row execute function audit_private.checkpoints_append_only();
drop trigger if exists audit_checkpoints_no_truncate on public.audit_checkpoints;
create trigger audit_checkpoints_no_truncate
  before truncate on public.audit_checkpoints
  for each statement execute function audit_private.checkpoints_append_only();

-- Signed checkpoints: what the API server signed with AUDIT_SIGNING_KEY (the
-- key never enters the database). The published copies (file directory,
-- log line) are the ones the database owner cannot rewrite; this table lets
-- the verifier find the newest signature without them.
create table if not exists public.audit_signed_checkpoints (
  seq bigint primary key,
  hash text not null,
  signed_at timestamptz not null,
  key_id text not null,
  signature text not null
);

comment on table public.audit_signed_checkpoints is
  'Ed25519 signatures over audit_checkpoints entries, made outside the database. See README "Proving the trail is complete".';

alter table public.audit_checkpoints enable row level security;
alter table public.audit_signed_checkpoints enable row level security;
revoke all on public.audit_checkpoints from public, anon, authenticated;
revoke all on public.audit_signed_checkpoints from public, anon, authenticated;
revoke all on audit_private.trail_head from public, anon, authenticated;
revoke all on audit_private.erased_fields from public, anon, authenticated;
grant select on public.audit_checkpoints to service_role;
grant select on public.audit_signed_checkpoints to service_role;
drop policy if exists audit_checkpoints_service_role on public.audit_checkpoints;
create policy audit_checkpoints_service_role on public.audit_checkpoints for select to service_role using (true);
drop policy if exists audit_signed_checkpoints_service_role on public.audit_signed_checkpoints;
create policy audit_signed_checkpoints_service_role on public.audit_signed_checkpoints for select to service_role using (true);

-- The functions run as their owner where they write the chain: service_role
-- inserts events, and the triggers must be able to append.
alter function audit_private.trail_append(text, uuid[], bytea, jsonb, text) security definer;
-- The triggers run as the owner too, so that a writer (service_role) needs no
-- right to trail_append, which nobody may call directly.
alter function audit_private.trail_after_insert() security definer;
alter function audit_private.trail_after_delete() security definer;

revoke all on function audit_private.jcs_number(text) from public, anon, authenticated;
revoke all on function audit_private.utf16_key(text) from public, anon, authenticated;
revoke all on function audit_private.jcs(jsonb) from public, anon, authenticated;
revoke all on function audit_private.leaves_query(text) from public, anon, authenticated;
revoke all on function audit_private.leaf(public.audit_events, jsonb) from public, anon, authenticated;
revoke all on function audit_private.trail_append(text, uuid[], bytea, jsonb, text) from public, anon, authenticated;
revoke all on function audit_private.trail_after_insert() from public, anon, authenticated;
revoke all on function audit_private.trail_after_delete() from public, anon, authenticated;
revoke all on function audit_private.checkpoints_append_only() from public, anon, authenticated;
grant execute on function audit_private.jcs_number(text) to service_role;
grant execute on function audit_private.utf16_key(text) to service_role;
grant execute on function audit_private.jcs(jsonb) to service_role;
grant execute on function audit_private.leaves_query(text) to service_role;
grant execute on function audit_private.leaf(public.audit_events, jsonb) to service_role;
grant execute on function audit_private.trail_after_insert() to service_role;
grant execute on function audit_private.trail_after_delete() to service_role;
