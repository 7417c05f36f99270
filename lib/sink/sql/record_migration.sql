-- Records one applied migration, in its own transaction.
INSERT INTO {s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, now())
