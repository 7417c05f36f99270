-- Several daemons on one database share the work (config `replica:`). Each daemon that shares
-- the schedule renews its row here every heartbeat; the rows renewed within the time-to-live
-- are the live replicas, among which each source's rate budget is divided.
CREATE TABLE replicas (
    name         text PRIMARY KEY,
    host         text NOT NULL DEFAULT '',
    pid          integer,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- `next_run_at` is the shared schedule: a replica claims a due resource by moving it one
-- interval on, atomically, and the run's end sets it from the run's outcome. These say who
-- made the last claim, and when.
ALTER TABLE resource_state ADD COLUMN claimed_by text;
ALTER TABLE resource_state ADD COLUMN claimed_at timestamptz;

-- The replica that ran (or skipped, held, latched) each run.
ALTER TABLE runs ADD COLUMN replica text NOT NULL DEFAULT '';
