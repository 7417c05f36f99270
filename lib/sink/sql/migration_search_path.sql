-- Migrations are written unqualified and land in the state schema.
SET LOCAL search_path TO {s}
