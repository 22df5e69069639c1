-- Full-text search of messages (parley_core::fulltext). One row per message
-- that is not deleted, written with it by the processor, changed by an edit,
-- dropped by a delete: what the filters need (who, when, whether it links),
-- and its words as a tsvector built by Rust (folded for case and
-- diacritics, with positions for phrases), behind a GIN index.
CREATE TABLE message_search (
    channel_id uuid NOT NULL,
    seq        bigint NOT NULL,
    event_id   uuid NOT NULL,
    sender_id  uuid NOT NULL,
    created_at timestamptz NOT NULL,
    has_link   boolean NOT NULL,
    words      tsvector NOT NULL,
    PRIMARY KEY (channel_id, seq)
);
CREATE INDEX message_search_words ON message_search USING GIN (words);
CREATE INDEX message_search_newest ON message_search (event_id);
CREATE INDEX message_search_sender ON message_search (sender_id, event_id);

-- The messages stored before this migration, indexed by Rust when a node
-- next starts (and then forgotten here).
CREATE TABLE search_backlog (channel_id uuid NOT NULL, seq bigint NOT NULL, PRIMARY KEY (channel_id, seq));
INSERT INTO search_backlog (channel_id, seq)
    SELECT channel_id, seq FROM events WHERE type = 'message' AND NOT deleted;
