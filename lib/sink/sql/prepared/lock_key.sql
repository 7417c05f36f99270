-- A transaction-scoped advisory lock on one key.
SELECT pg_advisory_xact_lock($1::bigint)
