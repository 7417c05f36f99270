-- Setting a latch again replaces its reason.
INSERT INTO {s}.latches AS l (source, reason, set_at, set_by)
VALUES ($1, $2, COALESCE('epoch'::timestamptz + $3::bigint * interval '1 microsecond', now()),
    $4)
ON CONFLICT (source) DO UPDATE SET reason = EXCLUDED.reason, set_at = EXCLUDED.set_at, set_by =
    EXCLUDED.set_by
