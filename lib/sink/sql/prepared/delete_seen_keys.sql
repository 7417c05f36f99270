-- A finished pass's keys are no longer needed.
DELETE FROM {s}.seen_keys WHERE pass_id = $1 AND table_name = $2
