-- Bots and incoming webhooks: a bot is an account with no password that
-- signs in with API tokens (sessions that do not expire for a century);
-- an incoming webhook posts into one channel as a bot of its own.
ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhooks (
    id         TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    channel_id TEXT NOT NULL,
    bot_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX webhooks_by_channel ON webhooks (channel_id, created_at);
