-- Records that a source sends from an address on this host, now.
INSERT INTO {s}.egress AS e (source, address, host)
VALUES ($1, $2, $3)
ON CONFLICT (source, address) DO UPDATE SET host = EXCLUDED.host, last_seen = now()
