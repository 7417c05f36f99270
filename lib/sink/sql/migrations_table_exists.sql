-- Whether migrations ever ran in the state schema.
SELECT to_regclass($1::text) IS NOT NULL
