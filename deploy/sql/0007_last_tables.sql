-- The last run's figures per table (the resource's own table and its children's), so that
-- `chatsyncd status` can show them: a JSON array of objects {"schema", "table", "written",
-- "unchanged", "deleted"}, the resource's own table first. Written by every run that ends
-- through FinishRun; emptied by a held or latched run, which writes nothing.
ALTER TABLE resource_state ADD COLUMN last_tables jsonb NOT NULL DEFAULT '[]'::jsonb;
