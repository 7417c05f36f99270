-- Clears a source's latch.
DELETE FROM {s}.latches WHERE source = $1
