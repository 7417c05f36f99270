-- A resource's run lock, held by the sink's lock session from BeginRun to FinishRun.
-- Session-level, so that it outlives the run's transactions and vanishes with the process.
-- It shares the one-key space with the table locks; their keys hash other text.
SELECT pg_try_advisory_lock($1::bigint)
