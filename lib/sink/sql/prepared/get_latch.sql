-- A source's latch, if it has one.
SELECT reason, floor(extract(epoch FROM set_at) * 1000000)::bigint, set_by FROM {s}.latches
WHERE source = $1
