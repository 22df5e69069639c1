-- A display name's words as people search them (`parley_core::search::words`),
-- written by the store with the display name. Users from before are given
-- theirs by the store after migrating, so that case is folded by the same
-- Rust on PostgreSQL as on SQLite.
ALTER TABLE users ADD COLUMN display_words text;
