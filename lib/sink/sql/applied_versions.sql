-- The versions in place.
SELECT version FROM {s}.schema_migrations ORDER BY version
