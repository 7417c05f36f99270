-- Releases a resource's run lock (try_run_lock.sql).
SELECT pg_advisory_unlock($1::bigint)
