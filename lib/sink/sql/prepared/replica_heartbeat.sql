-- A replica says it is alive.
INSERT INTO {s}.replicas AS p (name, host, pid, heartbeat_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, heartbeat_at = now()
