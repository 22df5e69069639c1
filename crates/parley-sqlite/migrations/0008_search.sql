-- Full-text search of messages (parley_core::fulltext). One row per message
-- that is not deleted, written with it, changed by an edit, dropped by a
-- delete: what the filters need (who, when, whether it links), and its words
-- in an FTS5 table of the same rowid. The words are folded by Rust (case,
-- diacritics) and separated by spaces, so the tokenizer only splits them.
CREATE TABLE message_search (
    rowid      INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    event_id   TEXT NOT NULL,
    sender_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    has_link   INTEGER NOT NULL CHECK (has_link IN (0, 1)),
    UNIQUE (channel_id, seq)
);
CREATE INDEX message_search_newest ON message_search (event_id);
-- Contentless (the words are not kept twice), rows deletable by rowid.
CREATE VIRTUAL TABLE message_words USING fts5(words, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0');

-- The messages stored before this migration, indexed by Rust when the
-- store next opens (and then forgotten here).
CREATE TABLE search_backlog (channel_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (channel_id, seq))
    WITHOUT ROWID;
INSERT INTO search_backlog (channel_id, seq)
    SELECT channel_id, seq FROM events WHERE type = 'message' AND deleted = 0;
