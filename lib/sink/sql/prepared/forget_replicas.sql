-- Forgets replicas silent for a day (a default name holds the pid, so each restart adds one).
DELETE FROM {s}.replicas WHERE heartbeat_at < now() - interval '1 day'
