-- Claims a resource's next run for replica $3 when it is due (never scheduled, or next_run_at
-- has passed) and moves next_run_at one interval ($4 ms) on, so that no other replica takes
-- it before then; the run's end sets it again from its outcome. A row only when claimed. Two
-- replicas claiming at once: the second waits for the first's row and re-checks it, so it
-- finds the resource no longer due.
INSERT INTO {s}.resource_state AS r (source, resource, next_run_at, claimed_by, claimed_at)
VALUES ($1, $2, now() + $4::bigint * interval '1 millisecond', $3, now())
ON CONFLICT (source, resource) DO UPDATE SET next_run_at = EXCLUDED.next_run_at,
    claimed_by = EXCLUDED.claimed_by, claimed_at = now(), updated_at = now()
WHERE r.next_run_at IS NULL OR r.next_run_at <= now()
RETURNING 1
