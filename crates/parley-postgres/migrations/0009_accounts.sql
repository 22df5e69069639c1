-- Running a server (parley_core::accounts, chat/admin.rs): server roles and
-- deactivated accounts, sessions that say when and from what they were
-- used, password resets an admin makes, the audit log, and invites with no
-- channel (join links: sign-up on an invite-only server).
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member'));
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
-- A server that had accounts before roles: its first account is its admin.
UPDATE users SET role = 'admin' WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);

ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;
ALTER TABLE sessions ADD COLUMN user_agent text;
UPDATE sessions SET last_seen_at = created_at;
-- A user's sessions: listing them, ending all of them.
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE password_resets (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_id   uuid NOT NULL,
    action     text NOT NULL,
    user_id    uuid,
    channel_id uuid,
    detail     text NOT NULL
);

ALTER TABLE invites ALTER COLUMN channel_id DROP NOT NULL;
-- A channel's invites (NULL: the join links), newest first.
CREATE INDEX invites_by_channel ON invites (channel_id, created_at);
