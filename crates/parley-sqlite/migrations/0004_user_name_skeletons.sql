-- The look-alike keys of each user's names (`parley_core::names::NameKeys`):
-- the UTS #39 confusables skeleton of the username, and two of the display
-- name (case folded after the skeleton, and before it too). A new name that
-- shares a key with another user's is refused; the store checks on the one
-- writer connection, in the same job as the write.
--
-- Indexed, not unique: a user's own username and display name may share a
-- key (alice called "Alice"), which no unique index over the columns allows,
-- and users from before may already look alike — they keep their names.
--
-- Users from before are given their keys by the store as it opens, computed
-- by the same Rust as new ones. A newer confusables table does not change
-- stored keys by itself: a migration that sets these columns to NULL has
-- them computed again.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
ALTER TABLE users ADD COLUMN display_skeleton TEXT;
ALTER TABLE users ADD COLUMN display_skeleton_caseless TEXT;
CREATE INDEX users_by_username_skeleton ON users (username_skeleton);
CREATE INDEX users_by_display_skeleton ON users (display_skeleton);
CREATE INDEX users_by_display_skeleton_caseless ON users (display_skeleton_caseless);
