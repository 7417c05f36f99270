-- Asked before CREATE SCHEMA, which needs the CREATE privilege on the database even when the
-- schema exists: an operator may create the schemas and grant less.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)
