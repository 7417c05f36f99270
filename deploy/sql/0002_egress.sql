-- Where each source's requests left from, for platforms that disable a token used from too
-- many addresses (Mesibo's TOKENBREACH): a source with an egress guard sends only from an
-- address listed here, or adds one while fewer than its limit are listed. Every run of such a
-- source updates its address's last_seen and host.
CREATE TABLE egress (
    source     text NOT NULL,
    address    text NOT NULL,
    host       text NOT NULL DEFAULT '',
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, address)
);

-- The address each run of such a source sent from (or was refused to send from).
ALTER TABLE runs ADD COLUMN egress text;
