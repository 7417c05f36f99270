-- A failed or cancelled run: cursor and checkpoint stay, so the next run resumes.
INSERT INTO {s}.resource_state AS r (source, resource, run_id, next_run_at, last_outcome,
    last_error, last_rows_written, last_rows_unchanged, last_tables, updated_at)
VALUES ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 microsecond', $5, $6, $7,
    $8, $9::jsonb, now())
ON CONFLICT (source, resource) DO UPDATE SET next_run_at = EXCLUDED.next_run_at, last_outcome =
    EXCLUDED.last_outcome, last_error = EXCLUDED.last_error, last_rows_written =
    EXCLUDED.last_rows_written, last_rows_unchanged = EXCLUDED.last_rows_unchanged,
    last_tables = EXCLUDED.last_tables, updated_at = now()
