-- Retention by partition waits for the table at most 5 s.
--
-- audit_drop_partitions takes the table in access exclusive mode. Behind a
-- reader that holds it for long (an export streams for minutes in one
-- transaction) the drop waited without end, and every request after it
-- queued behind the drop's lock: ingest stalled for as long as the export
-- ran. Now it gives up after lock_timeout with 55P03, and retention deletes
-- the expired rows row by row instead (no such lock); the emptied partition
-- is dropped by a later run.

alter function public.audit_drop_partitions(timestamptz, text, integer) set lock_timeout = '5s';
