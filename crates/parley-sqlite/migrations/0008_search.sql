-- Full-text search of messages (parley_core::fulltext). Each message that
-- is not deleted has its words in an FTS5 table, under a number of its own
-- kept on its event row (`search_rowid`, given in the order messages are
-- stored: newest first is that number's order), written with it, changed
-- by an edit, dropped by a delete. The words are folded by Rust (case,
-- diacritics) and separated by spaces, so the tokenizer only splits them;
-- the table is contentless (the words are not kept twice). The filters
-- (who, when, where, a link) read the event row.
ALTER TABLE events ADD COLUMN search_rowid INTEGER;
CREATE INDEX events_search ON events (search_rowid) WHERE search_rowid IS NOT NULL;
CREATE VIRTUAL TABLE message_words USING fts5(words, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0');

-- The messages stored before this migration, indexed by Rust when the
-- store next opens (and then forgotten here).
CREATE TABLE search_backlog (channel_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (channel_id, seq))
    WITHOUT ROWID;
INSERT INTO search_backlog (channel_id, seq)
    SELECT channel_id, seq FROM events WHERE type = 'message' AND deleted = 0;
