-- The trail's database API (every store calls these): read the checkpoints
-- and signatures, record a signature, and erase personal data from one event
-- without breaking the chain.

-- The append-only trigger function (audit_private, as 20261205110000 placed
-- it) as before, and one more exception: audit_erase_event may set erasable
-- free-text columns to null (nothing else) while it holds audit.allow_erase
-- for its own transaction.
create or replace function audit_private.audit_events_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' and coalesce(pg_catalog.current_setting('audit.allow_delete', true), '') = 'on' then
    return old;
  end if;
  if tg_op = 'UPDATE' and coalesce(pg_catalog.current_setting('audit.allow_erase', true), '') = 'on'
     and (new.id, new."timestamp", new.source, new.operation_type, new.result, new.severity, new.tenant_id, new.actor_type,
          new.resource_type, new.resource_id, new.request_id)
         is not distinct from
         (old.id, old."timestamp", old.source, old.operation_type, old.result, old.severity, old.tenant_id, old.actor_type,
          old.resource_type, old.resource_id, old.request_id)
     and (new.operator is null or new.operator is not distinct from old.operator)
     and (new.message is null or new.message is not distinct from old.message)
     and (new.extra_info is null or new.extra_info is not distinct from old.extra_info)
     and (new.ip_address is null or new.ip_address is not distinct from old.ip_address)
     and (new.user_agent is null or new.user_agent is not distinct from old.user_agent) then
    return new;
  end if;
  raise exception 'audit_events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end $$;

-- Erases the named free-text fields of one event (sets them to null) and
-- appends an `erase` checkpoint with each field's commitment, so the event's
-- leaf still verifies. Returns the checkpoint's seq, or null when the event
-- does not exist.
create or replace function public.audit_erase_event(p_id uuid, p_fields text[], p_reason text)
returns bigint
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  e public.audit_events;
  f text;
  hashes jsonb := '{}'::jsonb;
  erasure text;
begin
  if p_fields is null or cardinality(p_fields) = 0 or coalesce(p_reason, '') = '' then
    raise exception 'audit_erase_event needs fields and a reason' using errcode = 'invalid_parameter_value';
  end if;
  select * into e from public.audit_events where id = p_id for update;
  if not found then
    return null;
  end if;
  select coalesce(x.fields, '{}'::jsonb) into hashes from (select 1) s left join audit_private.erased_fields x on x.id = p_id;
  foreach f in array p_fields loop
    if f not in ('operator', 'message', 'extra_info', 'ip_address', 'user_agent') then
      raise exception 'audit_erase_event: % cannot be erased (operator, message, extra_info, ip_address, user_agent can)', f
        using errcode = 'invalid_parameter_value';
    end if;
    if hashes ? f then
      continue; -- erased before: its commitment is already recorded
    end if;
    hashes := hashes || jsonb_build_object(f, case f
      when 'operator' then encode(sha256(convert_to(e.operator, 'UTF8')), 'hex')
      when 'message' then encode(sha256(convert_to(e.message, 'UTF8')), 'hex')
      when 'extra_info' then encode(sha256(convert_to(audit_private.jcs(nullif(e.extra_info, 'null'::jsonb)), 'UTF8')), 'hex')
      when 'ip_address' then encode(sha256(convert_to(to_json(e.ip_address) #>> '{}', 'UTF8')), 'hex')
      when 'user_agent' then encode(sha256(convert_to(e.user_agent, 'UTF8')), 'hex') end);
  end loop;
  -- a field that was null has no commitment to keep
  hashes := jsonb_strip_nulls(hashes);
  insert into audit_private.erased_fields (id, fields) values (p_id, hashes)
    on conflict (id) do update set fields = excluded.fields;
  perform set_config('audit.allow_erase', 'on', true);
  update public.audit_events set
    operator = case when 'operator' = any(p_fields) then null else operator end,
    message = case when 'message' = any(p_fields) then null else message end,
    extra_info = case when 'extra_info' = any(p_fields) then null else extra_info end,
    ip_address = case when 'ip_address' = any(p_fields) then null else ip_address end,
    user_agent = case when 'user_agent' = any(p_fields) then null else user_agent end
  where id = p_id;
  perform set_config('audit.allow_erase', '', true);
  -- the root commits to the event, its erased fields' hashes and (through the checkpoint hash) the reason
  erasure := audit_private.jcs(jsonb_build_object('fields', hashes, 'id', p_id));
  return audit_private.trail_append('erase', array[p_id], sha256(convert_to(erasure, 'UTF8')), jsonb_build_object('fields', hashes), p_reason);
end $$;

comment on function public.audit_erase_event(uuid, text[], text) is
  'Erases personal data from one event: sets the named fields (operator, message, extra_info, ip_address, user_agent) to null and appends an erase checkpoint holding their sha256 commitments, so the trail still verifies. Returns the checkpoint seq, or null when the event does not exist.';

-- Checkpoints in seq order after p_after, at most p_limit, as JSON objects.
create or replace function public.audit_trail_checkpoints(p_after bigint default 0, p_limit integer default 1000)
returns setof jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object('seq', c.seq, 'kind', c.kind,
    'created_at', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'prev_hash', c.prev_hash, 'root', c.root, 'count', c.count, 'ids', to_jsonb(c.ids), 'leaves', encode(c.leaves, 'hex'), 'detail', c.detail,
    'reason', c.reason, 'hash', c.hash)
  from public.audit_checkpoints c
  where c.seq > coalesce(p_after, 0)
  order by c.seq
  limit greatest(least(coalesce(p_limit, 1000), 10000), 1)
$$;

comment on function public.audit_trail_checkpoints(bigint, integer) is
  'The trail''s checkpoints after seq p_after, in seq order, at most p_limit (≤ 10000), as JSON: the lines of the checkpoints export that audit-events verify reads.';

-- Every recorded signature, oldest first.
create or replace function public.audit_trail_signatures()
returns setof jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object('seq', s.seq, 'hash', s.hash,
    'signed_at', to_char(s.signed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'key_id', s.key_id, 'signature', s.signature)
  from public.audit_signed_checkpoints s
  order by s.seq
$$;

comment on function public.audit_trail_signatures() is
  'Every signed checkpoint recorded by audit_trail_record_signature, in seq order, as JSON.';

-- The newest checkpoint and the newest signed seq: what a signer needs.
create or replace function public.audit_trail_head()
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object('seq', coalesce(c.seq, 0), 'hash', coalesce(c.hash, repeat('0', 64)),
    'signed_seq', (select max(s.seq) from public.audit_signed_checkpoints s))
  from (select 1) one
  left join lateral (select seq, hash from public.audit_checkpoints order by seq desc limit 1) c on true
$$;

comment on function public.audit_trail_head() is
  'The chain''s newest checkpoint {seq, hash} and the newest signed seq (signed_seq, null before the first signature).';

-- Records a signature made outside the database. Replicas serialise on an
-- advisory lock and a checkpoint is signed once: true when this call
-- recorded it (that replica publishes it), false when it was already signed.
create or replace function public.audit_trail_record_signature(p_seq bigint, p_hash text, p_signed_at timestamptz, p_key_id text, p_signature text)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
begin
  perform pg_advisory_xact_lock(hashtext('audit_trail_sign'));
  if not exists (select 1 from public.audit_checkpoints c where c.seq = p_seq and c.hash = p_hash) then
    raise exception 'no checkpoint % with hash %', p_seq, p_hash using errcode = 'invalid_parameter_value';
  end if;
  insert into public.audit_signed_checkpoints (seq, hash, signed_at, key_id, signature)
  values (p_seq, p_hash, p_signed_at, p_key_id, p_signature)
  on conflict (seq) do nothing;
  get diagnostics n = row_count;
  return n = 1;
end $$;

comment on function public.audit_trail_record_signature(bigint, text, timestamptz, text, text) is
  'Records an Ed25519 signature over checkpoint (seq, hash), made by the API server with AUDIT_SIGNING_KEY. True when recorded by this call, false when the checkpoint was already signed.';

revoke all on function public.audit_erase_event(uuid, text[], text) from public, anon, authenticated;
revoke all on function public.audit_trail_checkpoints(bigint, integer) from public, anon, authenticated;
revoke all on function public.audit_trail_signatures() from public, anon, authenticated;
revoke all on function public.audit_trail_head() from public, anon, authenticated;
revoke all on function public.audit_trail_record_signature(bigint, text, timestamptz, text, text) from public, anon, authenticated;
grant execute on function public.audit_erase_event(uuid, text[], text) to service_role;
grant execute on function public.audit_trail_checkpoints(bigint, integer) to service_role;
grant execute on function public.audit_trail_signatures() to service_role;
grant execute on function public.audit_trail_head() to service_role;
grant execute on function public.audit_trail_record_signature(bigint, text, timestamptz, text, text) to service_role;
