-- Runs of a resource still marked running belong to a process that died.
UPDATE {s}.runs SET outcome = 'interrupted', finished_at = now()
WHERE source = $1 AND resource = $2 AND outcome = 'running'
