-- The checkpoint written in the same transaction as a page's rows.
INSERT INTO {s}.resource_state AS r (source, resource, checkpoint, run_id, updated_at)
VALUES ($1, $2, $3::jsonb, $4, now())
ON CONFLICT (source, resource) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, run_id =
    EXCLUDED.run_id, updated_at = now()
