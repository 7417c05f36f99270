-- Forgets where resources stand, so their next runs re-sync in full.
UPDATE {s}.resource_state SET cursor = NULL, checkpoint = NULL, run_id = NULL, updated_at =
    now()
WHERE source = $1 AND ($2::text = '' OR resource = $2::text)
