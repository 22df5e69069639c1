-- Moderation (parley_core::apply, change.rs): channels renamed, archived and
-- deleted, members removed and banned, each an event of the channel's log.
--
-- `events` is built again without a CHECK on `type`: each new kind of event
-- would otherwise rebuild this, the largest table, once more. The one writer
-- maps kinds to rows in one place (parley_core::row), and a row of a type it
-- does not know is refused when read. Every column and index is kept.
CREATE TABLE events_new (
    channel_id    TEXT NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq > 0),
    id            TEXT NOT NULL,
    type          TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- every change a client makes: its dedupe key
    client_msg_id TEXT,
    -- message, message_edited: the text ('' once the message is deleted);
    -- channel_renamed: the name; topic_changed: the topic
    body          TEXT,
    reply_to_seq  INTEGER,
    -- member_*: whose membership
    user_id       TEXT,
    -- a change to a message: which one
    target_seq    INTEGER,
    emoji         TEXT,
    role          TEXT,
    -- a message's current state
    edited_at     INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0,
    pinned_by     TEXT,
    pinned_at     INTEGER,
    reply_count   INTEGER NOT NULL DEFAULT 0,
    last_reply_at INTEGER,
    changed_seq   INTEGER NOT NULL DEFAULT 0,
    mentions      TEXT,
    search_rowid  INTEGER,
    PRIMARY KEY (channel_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO events_new SELECT channel_id, seq, id, type, sender_id, created_at, client_msg_id, body, reply_to_seq,
    user_id, target_seq, emoji, role, edited_at, deleted, pinned_by, pinned_at, reply_count, last_reply_at,
    changed_seq, mentions, search_rowid FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_dedupe ON events (channel_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
CREATE INDEX events_thread ON events (channel_id, reply_to_seq, seq) WHERE reply_to_seq IS NOT NULL;
CREATE INDEX events_target ON events (channel_id, target_seq) WHERE target_seq IS NOT NULL;
CREATE INDEX events_pins ON events (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;
CREATE INDEX events_search ON events (search_rowid) WHERE search_rowid IS NOT NULL;

ALTER TABLE channels ADD COLUMN archived_at INTEGER;
-- A deleted channel is gone from every read; its row stays for its log.
ALTER TABLE channels ADD COLUMN deleted_at INTEGER;
-- A deleted channel's name is free again.
DROP INDEX channels_by_name;
CREATE UNIQUE INDEX channels_by_name ON channels (lower(name)) WHERE kind <> 'direct' AND deleted_at IS NULL;

CREATE TABLE bans (
    channel_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    banned_by  TEXT NOT NULL,
    banned_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
) STRICT, WITHOUT ROWID;

-- Whom each person blocks: their messages in a DM with the blocker are refused.
CREATE TABLE blocks (
    user_id    TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
) STRICT, WITHOUT ROWID;
-- Who blocks a sender: one probe per DM member.
CREATE INDEX blocks_by_blocked ON blocks (blocked_id, user_id);
