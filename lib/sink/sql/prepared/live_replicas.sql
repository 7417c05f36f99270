-- The replicas heard from within the time-to-live ($1 ms), this one included.
SELECT count(*) FROM {s}.replicas
WHERE heartbeat_at > now() - $1::bigint * interval '1 millisecond'
