-- Ends insert_events_head.sql: new events only, returned.
ON CONFLICT (source, event_key) DO NOTHING RETURNING source, event_key
