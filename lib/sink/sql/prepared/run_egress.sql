-- The address a run sends from, in the run log.
UPDATE {s}.runs SET egress = $2 WHERE run_id = $1
