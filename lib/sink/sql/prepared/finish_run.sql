-- A run's end in the run log (inserted if BeginRun never recorded it).
INSERT INTO {s}.runs AS r (run_id, source, resource, started_at, finished_at, outcome, pages,
    rows_written, rows_unchanged, rows_deleted, error)
VALUES ($1, $2, $3, now(), now(), $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_id) DO UPDATE SET finished_at = now(), outcome = EXCLUDED.outcome, pages =
    EXCLUDED.pages, rows_written = EXCLUDED.rows_written, rows_unchanged =
    EXCLUDED.rows_unchanged, rows_deleted = EXCLUDED.rows_deleted, error = EXCLUDED.error
