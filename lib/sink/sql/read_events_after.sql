-- Events received after a given one. The receipt order is (received_at, seq): seq alone
-- follows the keys' order within a batch of intake. The quoted source follows, then
-- " AND p.event_key = " with the quoted key, and a closing parenthesis.
AND (received_at, seq) > (SELECT p.received_at, p.seq FROM {s}.webhook_events AS p WHERE p.source =
