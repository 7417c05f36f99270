-- A run starts: the state row exists from now on, and says whether the last run died.
INSERT INTO {s}.resource_state AS r (source, resource, last_run_at, updated_at)
VALUES ($1, $2, now(), now())
ON CONFLICT (source, resource) DO UPDATE SET last_run_at = now(), updated_at = now(),
    last_outcome = CASE WHEN $3::boolean THEN 'interrupted' ELSE r.last_outcome END
