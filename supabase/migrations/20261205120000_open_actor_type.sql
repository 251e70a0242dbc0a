-- actor_type is open: any [a-z_]{1,20}. The five common ones (user, admin,
-- service, system, guest) stay documented; Callastar's `creator` and any
-- other kind of actor an application has are stored as given.
-- varchar(10) to varchar(20) changes no stored byte (no table rewrite).

alter table public.audit_events alter column actor_type type varchar(20);
alter table public.audit_events drop constraint if exists audit_events_actor_type_check;
alter table public.audit_events add constraint audit_events_actor_type_check check (actor_type ~ '^[a-z_]+$');
