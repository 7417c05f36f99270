-- A replica that stops leaves at once, so that the others' budgets grow without waiting for
-- its time-to-live.
DELETE FROM {s}.replicas WHERE name = $1
