-- A table's live columns in order: name, type as format_type() prints it, and the comment
-- (the record path the column holds).
SELECT a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute AS a
WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
