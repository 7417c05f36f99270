-- Every webhook body a source received, committed before the sender got its answer. A body
-- is stored once per source however often it is delivered (event_key is a digest of it).
-- Valid JSON is kept exactly as received in `body`; anything else in `raw`, flagged
-- `malformed`. The rows derived from an event (chats, messages, ...) live in the source's
-- own schema and are written in the same transaction; `derive_error` says why an event has
-- none although it should.
CREATE TABLE webhook_events (
    source       text NOT NULL,
    event_key    text NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    received_at  timestamptz NOT NULL,
    channel      text NOT NULL,
    event_name   text,
    event_type   text,
    bytes        integer NOT NULL,
    body         json,
    raw          bytea,
    malformed    boolean NOT NULL DEFAULT false,
    derive_error text,
    PRIMARY KEY (source, event_key)
);

CREATE INDEX webhook_events_received ON webhook_events (source, received_at);
