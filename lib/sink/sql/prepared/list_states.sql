-- Every resource's state.
SELECT source, resource, cursor, checkpoint::text, run_id, floor(extract(epoch FROM last_run_at)
    * 1000000)::bigint, floor(extract(epoch FROM last_success_at) * 1000000)::bigint,
    floor(extract(epoch FROM next_run_at) * 1000000)::bigint, last_outcome, last_error,
    last_rows_written, last_rows_unchanged, last_tables::text,
    coalesce((SELECT replica FROM {s}.runs r WHERE r.source = rs.source AND r.resource = rs.resource
              ORDER BY started_at DESC LIMIT 1), '')
FROM {s}.resource_state rs
ORDER BY source, resource
