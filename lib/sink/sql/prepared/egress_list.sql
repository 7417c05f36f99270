-- The addresses a source has sent from, the most recent first.
SELECT address FROM {s}.egress WHERE source = $1 ORDER BY last_seen DESC, address
