-- Why a stored event has no derived rows.
UPDATE {s}.webhook_events SET derive_error = $3 WHERE source = $1 AND event_key = $2
