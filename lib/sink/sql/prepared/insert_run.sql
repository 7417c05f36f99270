-- A new run in the run log.
INSERT INTO {s}.runs (run_id, source, resource, started_at, outcome, host, pid, replica)
VALUES (gen_random_uuid()::text, $1, $2, now(), 'running', $3, $4, $5)
RETURNING run_id
