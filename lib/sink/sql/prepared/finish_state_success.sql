-- A successful run: the cursor advances (unless NULL), the checkpoint is spent.
INSERT INTO {s}.resource_state AS r (source, resource, cursor, checkpoint, run_id,
    last_success_at, next_run_at, last_outcome, last_error, last_rows_written,
    last_rows_unchanged, last_tables, updated_at)
VALUES ($1, $2, $3, NULL, $4, now(), 'epoch'::timestamptz + $5::bigint * interval
    '1 microsecond', 'success', '', $6, $7, $8::jsonb, now())
ON CONFLICT (source, resource) DO UPDATE SET cursor = COALESCE(EXCLUDED.cursor, r.cursor),
    checkpoint = NULL, run_id = EXCLUDED.run_id, last_success_at = now(), next_run_at =
    EXCLUDED.next_run_at, last_outcome = 'success', last_error = '', last_rows_written =
    EXCLUDED.last_rows_written, last_rows_unchanged = EXCLUDED.last_rows_unchanged,
    last_tables = EXCLUDED.last_tables, updated_at = now()
