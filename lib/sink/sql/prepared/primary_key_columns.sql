-- A table's primary key columns, in key order.
SELECT a.attname FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = to_regclass($1::text) AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
