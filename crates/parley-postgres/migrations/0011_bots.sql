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

-- Outgoing webhooks: each new message of a channel POSTed to a URL, in seq
-- order, at least once. The delivery state is kept here, beside the hook:
-- the last seq delivered, the failure being retried, and a lease that lets
-- one node at a time deliver it.
CREATE TABLE outgoing_hooks (
    id              uuid PRIMARY KEY,
    channel_id      uuid NOT NULL,
    url             text NOT NULL,
    secret          text NOT NULL,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    delivered_seq   bigint NOT NULL,
    failing_since   timestamptz,
    last_error      text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    lease_node      text,
    lease_until     timestamptz
);
CREATE INDEX outgoing_hooks_by_channel ON outgoing_hooks (channel_id, created_at);
