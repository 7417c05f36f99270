-- Takes the resource's interval when its last call is old enough; no row when it is not.
INSERT INTO {s}.resource_state AS r (source, resource, last_call_at)
VALUES ($1, $2, now())
ON CONFLICT (source, resource) DO UPDATE SET last_call_at = now()
WHERE r.last_call_at IS NULL OR r.last_call_at <= now() - $3::bigint * interval '1 millisecond'
RETURNING 1
