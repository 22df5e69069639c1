-- Parley's schema on PostgreSQL. Ids are native uuid (16 bytes, compared as
-- bytes, which is also their order as hyphenated text), times are timestamptz
-- (microseconds; the core's milliseconds round-trip exactly), seqs bigint.
-- Text that is sorted or range-scanned is COLLATE "C": byte order, whatever the
-- database's locale, so usernames and channel names sort as they do on SQLite
-- and a username prefix is an index range.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- Already lower-cased by `Username::parse`.
    username      text COLLATE "C" NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- `last_seq` is rewritten by every batch that appends to the channel; it is in
-- no index, so with room left on the page the update is HOT (no index writes).
CREATE TABLE channels (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name       text COLLATE "C" NOT NULL,
    topic      text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by uuid NOT NULL REFERENCES users (id),
    -- Only direct channels have one; UNIQUE lets any number of NULLs through.
    dm_key     text UNIQUE,
    -- The seq of the channel's newest event: the Sequencer's head, and the
    -- row it locks (FOR NO KEY UPDATE) to be the channel's only writer.
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
) WITH (fillfactor = 80);

-- public_channels: the public ones, by name.
CREATE INDEX channels_public_by_name ON channels (name, id) WHERE kind = 'public';

CREATE TABLE members (
    channel_id    uuid NOT NULL REFERENCES channels (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    role          text NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at     timestamptz NOT NULL,
    last_read_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, user_id)
);

-- my_channels: the channels of one user.
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE invites (
    code       text PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES channels (id),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    max_uses   bigint CHECK (max_uses >= 0),
    uses       bigint NOT NULL DEFAULT 0 CHECK (uses >= 0)
);

-- One channel's log. The primary key is the order of the log, the index every
-- history read walks, and the last guard of "one seq, one event": should two
-- writers ever both append seq N to a channel, the second commit fails.
-- No foreign keys here: the only writer is the Sequencer, which appends only
-- to channels whose head row it holds locked, and a parent-key check per row
-- would tax the hottest statement there is.
CREATE TABLE events (
    channel_id    uuid NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    id            uuid NOT NULL,
    type          text NOT NULL CHECK (type IN ('message', 'member_joined', 'member_left')),
    sender_id     uuid NOT NULL,
    created_at    timestamptz NOT NULL,
    -- message only
    client_msg_id text,
    body          text,
    reply_to_seq  bigint,
    -- member_joined / member_left only: who joined or left
    user_id       uuid,
    PRIMARY KEY (channel_id, seq),
    CHECK ((type = 'message') = (client_msg_id IS NOT NULL AND body IS NOT NULL)),
    CHECK ((type = 'message') = (user_id IS NULL))
);

-- The dedupe key of messages: a retried client_msg_id finds the first event,
-- and a second insert of the key fails. Partial, so membership events do not
-- bloat it; queries say `client_msg_id IS NOT NULL` so the planner may use it.
CREATE UNIQUE INDEX events_dedupe ON events (channel_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
