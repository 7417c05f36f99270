-- Runs that end before they begin are in the run log too: held (the source is held after a
-- refusal of its credentials or account), latched (a latch stops the source) and skipped
-- (another process is running the resource). Such rows have no pages and finish as they start.
ALTER TABLE runs DROP CONSTRAINT runs_outcome_check;
ALTER TABLE runs ADD CONSTRAINT runs_outcome_check
    CHECK (outcome IN ('running', 'success', 'failed', 'cancelled', 'interrupted', 'held',
                       'latched', 'skipped'));
