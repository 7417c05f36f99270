-- How long until a resource is due (ms, 0 when it is due or unscheduled).
SELECT COALESCE(greatest(0, floor(extract(epoch FROM next_run_at - now()) * 1000))::bigint, 0)
FROM {s}.resource_state WHERE source = $1 AND resource = $2
