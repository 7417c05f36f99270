-- Locks event tables for intake, in the (sorted) order given, shared: batches of events write
-- at once, and only the exclusive lock_tables (creating or altering a table, deriving rows
-- again) waits for them.
SELECT pg_advisory_xact_lock_shared(k) FROM unnest($1::bigint[]) AS k
