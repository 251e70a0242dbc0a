-- Upgrades in place the audit_events table the Python service made.
--
-- Ordered before 20261123060000_audit_events.sql on purpose: that file
-- creates the table only where it is absent, then indexes and fills columns
-- the Python table does not have (request_id, severity, ...), so on the
-- Python service's table it fails. This file runs first and adds them.
-- On a new database (no table yet) it creates only the private schema and
-- the severity rule; on a database already migrated it changes nothing.
--
-- The Python table (primary seed, exact DDL):
--   id uuid default gen_random_uuid() primary key, timestamp timestamptz
--   default now() not null, source varchar(50) not null, operator
--   varchar(255), operation_type varchar(100) not null, result varchar(20)
--   not null, message text, extra_info jsonb
-- Old writers go on inserting those eight columns only: every added column
-- is nullable, and severity is derived by a trigger (next file) for them.

-- Helpers that are not API live here, out of PostgREST's reach.
create schema if not exists audit_private;
revoke all on schema audit_private from public;

-- The one rule for an event that names no severity: from its result.
create or replace function audit_private.severity_for_result(p_result text) returns text
language sql immutable
set search_path = ''
as $$
  select case p_result when 'failure' then 'error' when 'warning' then 'warning' else 'info' end
$$;
revoke all on function audit_private.severity_for_result(text) from public;

alter table if exists public.audit_events
  add column if not exists severity varchar(10),
  add column if not exists tenant_id varchar(255),
  add column if not exists actor_type varchar(10),
  add column if not exists resource_type varchar(100),
  add column if not exists resource_id varchar(255),
  add column if not exists request_id varchar(255),
  add column if not exists ip_address inet,
  add column if not exists user_agent varchar(1024);

do $$
declare
  last_id uuid;
  next_id uuid;
  guarded boolean;
begin
  if to_regclass('public.audit_events') is null then
    return;
  end if;
  -- The Python table has no CHECK constraints: new rows are held to the
  -- rules from now on; old rows are not re-read (NOT VALID), so a value the
  -- Python service once wrote can never stop the upgrade.
  if not exists (select 1 from pg_catalog.pg_constraint where conrelid = 'public.audit_events'::regclass and conname = 'audit_events_result_check') then
    alter table public.audit_events add constraint audit_events_result_check
      check (result in ('success', 'failure', 'warning')) not valid;
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint where conrelid = 'public.audit_events'::regclass and conname = 'audit_events_severity_check') then
    alter table public.audit_events add constraint audit_events_severity_check
      check (severity in ('debug', 'info', 'warning', 'error', 'critical')) not valid;
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint where conrelid = 'public.audit_events'::regclass and conname = 'audit_events_source_check') then
    alter table public.audit_events add constraint audit_events_source_check
      check (source ~ '^[a-z0-9_.:-]+$') not valid;
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint where conrelid = 'public.audit_events'::regclass and conname = 'audit_events_operation_type_check') then
    alter table public.audit_events add constraint audit_events_operation_type_check
      check (operation_type ~ '^[A-Za-z0-9_.:-]+$') not valid;
  end if;

  -- Severity for the rows written before the column existed, in batches of
  -- 10,000 by primary key. This is the only UPDATE the table ever sees. On
  -- the Python table no append-only trigger exists yet; where one does (the
  -- columns were added by hand and the later files ran), it is disabled for
  -- this transaction only: ALTER TABLE is transactional and holds the
  -- table's lock until commit, so no other session ever sees it off.
  if not exists (select 1 from public.audit_events where severity is null) then
    return;
  end if;
  guarded := exists (select 1 from pg_catalog.pg_trigger
                     where tgrelid = 'public.audit_events'::regclass and tgname = 'audit_events_no_update');
  if guarded then
    alter table public.audit_events disable trigger audit_events_no_update;
  end if;
  loop
    select id into next_id from public.audit_events
      where last_id is null or id > last_id order by id offset 9999 limit 1;
    update public.audit_events set severity = audit_private.severity_for_result(result)
      where severity is null and (last_id is null or id > last_id) and (next_id is null or id <= next_id);
    exit when next_id is null;
    last_id := next_id;
  end loop;
  if guarded then
    alter table public.audit_events enable trigger audit_events_no_update;
  end if;
end $$;
