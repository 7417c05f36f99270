-- Serialises Migrate() across daemons starting at once; the two-key form keeps it apart
-- from the one-key table locks.
SELECT pg_advisory_xact_lock(hashtext('chatsync.migrate'), hashtext($1::text))
