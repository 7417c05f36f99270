-- Locks a page's tables for the transaction, in the (sorted) order given, so that DDL on a
-- table never interleaves with another connection's catalog read and writes to it.
SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k
