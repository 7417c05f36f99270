-- Whether a table exists, by its quoted qualified name.
SELECT to_regclass($1::text) IS NOT NULL
