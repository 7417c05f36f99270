-- When the last run of a resource with a minimum interval went ahead (Mesibo's appstats
-- allows one call an hour). Claimed atomically at a run's start, so that runs from several
-- processes or restarts on one database keep to the interval.
ALTER TABLE resource_state ADD COLUMN last_call_at timestamptz;
