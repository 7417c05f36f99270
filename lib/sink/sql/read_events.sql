-- A source's stored events in the order received, exact to the microsecond: whole seconds and
-- the microseconds within them, each small enough to be exact whatever type extract()
-- returns. The quoted source follows, then the filters, the order and the limit.
SELECT event_key, extract(epoch FROM date_trunc('second', received_at))::bigint,
    extract(microseconds FROM received_at)::bigint % 1000000, channel, body::text, malformed,
    coalesce(derive_error, '')
FROM {s}.webhook_events
WHERE source =
