-- The look-alike keys of each user's names (`parley_core::names::NameKeys`):
-- the UTS #39 confusables skeleton of the username, and two of the display
-- name (case folded after the skeleton, and before it too). A new name that
-- shares a key with another user's is refused; the store checks in the
-- write's own transaction, under a lock every name write takes
-- (`users::NAMES_LOCK`), so two look-alikes written at once cannot both pass.
--
-- Indexed, not unique: a user's own username and display name may share a
-- key (alice called "Alice"), which no unique index over the columns allows,
-- and users from before may already look alike — they keep their names.
--
-- Users from before are given their keys by the store after migrating,
-- computed by the same Rust as new ones. A newer confusables table does not
-- change stored keys by itself: a migration that sets these columns to NULL
-- has them computed again.
ALTER TABLE users ADD COLUMN username_skeleton text COLLATE "C";
ALTER TABLE users ADD COLUMN display_skeleton text COLLATE "C";
ALTER TABLE users ADD COLUMN display_skeleton_caseless text COLLATE "C";
CREATE INDEX users_by_username_skeleton ON users (username_skeleton);
CREATE INDEX users_by_display_skeleton ON users (display_skeleton);
CREATE INDEX users_by_display_skeleton_caseless ON users (display_skeleton_caseless);
