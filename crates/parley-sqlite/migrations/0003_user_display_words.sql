-- A display name's words as people search them (`parley_core::search::words`),
-- written by the store with the display name. Users from before are given
-- theirs by the store as it opens: SQLite's lower() cannot fold case as Rust does.
ALTER TABLE users ADD COLUMN display_words TEXT;
