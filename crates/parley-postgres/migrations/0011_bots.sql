-- Bots and incoming webhooks: a bot is an account with no password that
-- signs in with API tokens (sessions that do not expire for a century);
-- an incoming webhook posts into one channel as a bot of its own.
ALTER TABLE users ADD COLUMN bot boolean NOT NULL DEFAULT false;

CREATE TABLE webhooks (
    id         uuid PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    channel_id uuid NOT NULL,
    bot_id     uuid NOT NULL,
    name       text NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhooks_by_channel ON webhooks (channel_id, created_at);
