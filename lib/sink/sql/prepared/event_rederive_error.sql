-- A re-derived event's derive_error ('' clears it), written only when it changes.
UPDATE {s}.webhook_events SET derive_error = NULLIF($3, '')
WHERE source = $1 AND event_key = $2 AND derive_error IS DISTINCT FROM NULLIF($3, '')
