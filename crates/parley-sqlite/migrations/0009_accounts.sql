-- Running a server (parley_core::accounts, chat/admin.rs): server roles and
-- deactivated accounts, sessions that say when and from what they were
-- used, password resets an admin makes, the audit log, and invites with no
-- channel (join links: sign-up on an invite-only server).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member'));
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
-- A server that had accounts before roles: its first account is its admin.
UPDATE users SET role = 'admin' WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);

ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET last_seen_at = created_at;
-- A user's sessions: listing them, ending all of them.
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE password_resets (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    user_id    TEXT,
    channel_id TEXT,
    detail     TEXT NOT NULL
) STRICT;

-- channel_id becomes optional: SQLite changes a column's constraint only by
-- building the table again.
CREATE TABLE invites_new (
    code       TEXT NOT NULL PRIMARY KEY,
    channel_id TEXT REFERENCES channels (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    max_uses   INTEGER,
    uses       INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO invites_new (code, channel_id, created_by, created_at, expires_at, max_uses, uses)
    SELECT code, channel_id, created_by, created_at, expires_at, max_uses, uses FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
-- A channel's invites (NULL: the join links), newest first.
CREATE INDEX invites_by_channel ON invites (channel_id, created_at);
