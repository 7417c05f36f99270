-- A run that ended before it began (RecordRun), finished as it is written.
INSERT INTO {s}.runs (run_id, source, resource, started_at, finished_at, outcome, error, host,
    pid, replica)
VALUES (gen_random_uuid()::text, $1, $2, now(), now(), $3, $4, $5, $6, $7)
