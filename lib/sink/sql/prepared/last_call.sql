-- When a resource's last call that went ahead started.
SELECT floor(extract(epoch FROM last_call_at) * 1000000)::bigint FROM {s}.resource_state
WHERE source = $1 AND resource = $2
