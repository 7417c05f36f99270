-- The daemon's own tables. Applied by PgSink::Migrate() with `SET LOCAL search_path` to the
-- state schema (default "chatsync"), so names here stay unqualified. Forward-only: later changes
-- go in new files, never edits to this one.

-- Which migrations are in place; the highest version is the schema version.
CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- What the daemon remembers about each resource between runs. `checkpoint` is written in the
-- same transaction as every page's rows, so a crash resumes at the last committed page.
CREATE TABLE resource_state (
    source              text NOT NULL,
    resource            text NOT NULL,
    cursor              text,
    checkpoint          jsonb,
    run_id              text,
    last_run_at         timestamptz,
    last_success_at     timestamptz,
    next_run_at         timestamptz,
    last_outcome        text NOT NULL DEFAULT '',
    last_error          text NOT NULL DEFAULT '',
    last_rows_written   bigint NOT NULL DEFAULT 0,
    last_rows_unchanged bigint NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, resource)
);

-- The run log: one row per run of one resource.
CREATE TABLE runs (
    run_id         text PRIMARY KEY,
    source         text NOT NULL,
    resource       text NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    outcome        text NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'success', 'failed', 'cancelled', 'interrupted')),
    pages          bigint NOT NULL DEFAULT 0,
    rows_written   bigint NOT NULL DEFAULT 0,
    rows_unchanged bigint NOT NULL DEFAULT 0,
    rows_deleted   bigint NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '',
    host           text NOT NULL DEFAULT '',
    pid            integer
);

-- Finding a resource's runs (BeginRun's "interrupted" sweep, `chatsyncd status`).
CREATE INDEX runs_resource_started_idx ON runs (source, resource, started_at);

-- Keys written during a complete pass over a listed-in-full resource, so that the pass's end
-- can soft-delete the rows it no longer saw. Unlogged: after a crash the pass is redone anyway,
-- and these rows are written for every page. `table_name` is the quoted, qualified table name;
-- `key` is the text of ROW(primary key columns).
CREATE UNLOGGED TABLE seen_keys (
    pass_id    text NOT NULL,
    table_name text NOT NULL,
    key        text NOT NULL,
    PRIMARY KEY (pass_id, table_name, key)
);

-- A latch stops all traffic of a source until an operator clears it (Mesibo TOKENBREACH).
CREATE TABLE latches (
    source text PRIMARY KEY,
    reason text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT ''
);
