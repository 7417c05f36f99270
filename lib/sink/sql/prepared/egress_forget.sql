-- Forgets the addresses a source has sent from.
DELETE FROM {s}.egress WHERE source = $1
