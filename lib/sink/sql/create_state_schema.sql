-- The state schema, created before the first migration can run in it.
CREATE SCHEMA IF NOT EXISTS {s}
