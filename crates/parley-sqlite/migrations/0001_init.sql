-- Parley's schema on SQLite. Ids are hyphenated UUID text, times are integer
-- milliseconds since the Unix epoch. Tables are STRICT so a value of the wrong
-- type is refused rather than stored, and WITHOUT ROWID where the primary key
-- is what every query looks up by, which saves the second b-tree lookup.

CREATE TABLE users (
    id            TEXT NOT NULL PRIMARY KEY,
    -- Already lower-cased by `Username::parse`; NOCASE makes `LIKE 'prefix%'`
    -- (case-insensitive in SQLite) able to range-scan this index.
    username      TEXT NOT NULL COLLATE NOCASE UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE channels (
    id         TEXT NOT NULL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    name       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    -- Only direct channels have one; UNIQUE lets any number of NULLs through.
    dm_key     TEXT UNIQUE,
    -- The seq of the channel's newest event; the Sequencer's head.
    last_seq   INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- public_channels: the public ones, by name.
CREATE INDEX channels_by_kind_name ON channels (kind, name);

CREATE TABLE members (
    channel_id    TEXT NOT NULL REFERENCES channels (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    role          TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at     INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, user_id)
) STRICT, WITHOUT ROWID;

-- my_channels: the channels of one user.
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE invites (
    code       TEXT NOT NULL PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    max_uses   INTEGER,
    uses       INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- One channel's log. The primary key is the order of the log and the index
-- every history read walks; being the table itself (WITHOUT ROWID), a page of
-- history is one range scan. No foreign keys here: the only writer is the
-- Sequencer, which appends only to channels it has just read the head of, and
-- a parent-key check per row would tax the hottest statement there is.
CREATE TABLE events (
    channel_id    TEXT NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq > 0),
    id            TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('message', 'member_joined', 'member_left')),
    sender_id     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- message only
    client_msg_id TEXT,
    body          TEXT,
    reply_to_seq  INTEGER,
    -- member_joined / member_left only: who joined or left
    user_id       TEXT,
    PRIMARY KEY (channel_id, seq)
) STRICT, WITHOUT ROWID;

-- The dedupe key of messages: a retried client_msg_id finds the first event.
-- Partial, so membership events do not bloat it; a query with
-- `client_msg_id = ?` implies NOT NULL and so may use it.
CREATE UNIQUE INDEX events_dedupe ON events (channel_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
