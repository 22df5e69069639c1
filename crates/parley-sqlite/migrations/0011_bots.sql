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

-- Outgoing webhooks: each new message of a channel POSTed to a URL, in seq
-- order, at least once. The delivery state is kept here, beside the hook:
-- the last seq delivered, the failure being retried, and a lease that lets
-- one node at a time deliver it.
CREATE TABLE outgoing_hooks (
    id              TEXT NOT NULL PRIMARY KEY,
    channel_id      TEXT NOT NULL,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_seq   INTEGER NOT NULL,
    failing_since   INTEGER,
    last_error      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_node      TEXT,
    lease_until     INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX outgoing_hooks_by_channel ON outgoing_hooks (channel_id, created_at);
