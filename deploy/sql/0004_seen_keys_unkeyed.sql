-- A full listing writes one seen key for every row it reads. A unique index over the long
-- text keys made that the dearest statement of a sync (about 10 s of PostgreSQL's time per
-- million rows, against 2 s without it). Duplicates cannot mislead the sweep, which asks only
-- whether a key exists, so an index that finds a pass's keys is enough.
ALTER TABLE seen_keys DROP CONSTRAINT seen_keys_pkey;
CREATE INDEX seen_keys_pass_idx ON seen_keys (pass_id, table_name);
