-- A held or latched run in the resource's state: it ran now and wrote nothing; cursor,
-- checkpoint and the last success stay.
INSERT INTO {s}.resource_state AS r (source, resource, last_run_at, next_run_at, last_outcome,
    last_error, updated_at)
VALUES ($1, $2, now(), 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4, $5,
    now())
ON CONFLICT (source, resource) DO UPDATE SET last_run_at = now(), next_run_at =
    EXCLUDED.next_run_at, last_outcome = EXCLUDED.last_outcome, last_error =
    EXCLUDED.last_error, last_rows_written = 0, last_rows_unchanged = 0, last_tables = '[]'::jsonb,
    updated_at = now()
