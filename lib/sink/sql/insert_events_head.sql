-- Stores a batch of webhook bodies: the tuples (EventValuesSql) follow, then
-- insert_events_tail.sql. A body stored before (same source and key) is skipped and not
-- returned, so the rows returned are the new events.
INSERT INTO {s}.webhook_events (source, event_key, received_at, channel, event_name, event_type,
    bytes, body, raw, malformed, derive_error)
VALUES
