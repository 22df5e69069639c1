-- Changes to messages are events of the channel's log (edits, deletes,
-- reactions, pins, members' roles), and a message's row keeps its current
-- state beside them, updated in the transaction that appends the change, so
-- that a page of history carries it without folding the log.
--
-- SQLite cannot alter a CHECK constraint: `events` and `members` are built
-- again with the new types and roles, and their rows copied.

CREATE TABLE events_new (
    channel_id    TEXT NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq > 0),
    id            TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('message', 'member_joined', 'member_left',
                      'message_edited', 'message_deleted', 'reaction_added', 'reaction_removed',
                      'message_pinned', 'message_unpinned', 'member_role_changed')),
    sender_id     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- every change a client makes: its dedupe key
    client_msg_id TEXT,
    -- message, message_edited: the text ('' once the message is deleted)
    body          TEXT,
    reply_to_seq  INTEGER,
    -- member_joined, member_left, member_role_changed: whose membership
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
    -- the seq of the last change the state above includes
    changed_seq   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO events_new (channel_id, seq, id, type, sender_id, created_at, client_msg_id, body,
                        reply_to_seq, user_id)
    SELECT channel_id, seq, id, type, sender_id, created_at, client_msg_id, body, reply_to_seq, user_id
    FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

-- The dedupe key of every change a client makes: a retry finds the first
-- event. Partial, so membership events do not bloat it; a query with
-- `client_msg_id = ?` implies NOT NULL and so may use it.
CREATE UNIQUE INDEX events_dedupe ON events (channel_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
-- A thread's replies (and a reply count of old threads, below).
CREATE INDEX events_thread ON events (channel_id, reply_to_seq, seq) WHERE reply_to_seq IS NOT NULL;
-- The changes of one message (a delete empties its edits' bodies).
CREATE INDEX events_target ON events (channel_id, target_seq) WHERE target_seq IS NOT NULL;
-- A channel's pins, and how many it has.
CREATE INDEX events_pins ON events (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Replies stored before threads were counted.
UPDATE events AS root SET
    reply_count = (SELECT COUNT(*) FROM events r
                   WHERE r.channel_id = root.channel_id AND r.reply_to_seq = root.seq),
    changed_seq = (SELECT MAX(r.seq) FROM events r
                   WHERE r.channel_id = root.channel_id AND r.reply_to_seq = root.seq),
    last_reply_at = (SELECT MAX(r.created_at) FROM events r
                     WHERE r.channel_id = root.channel_id AND r.reply_to_seq = root.seq)
    WHERE root.type = 'message'
      AND EXISTS (SELECT 1 FROM events r WHERE r.channel_id = root.channel_id AND r.reply_to_seq = root.seq);

CREATE TABLE reactions (
    channel_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    -- the seq of the reaction_added event: the order reactions are served in
    added_seq  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, seq, emoji, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE members_new (
    channel_id    TEXT NOT NULL REFERENCES channels (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at     INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO members_new SELECT channel_id, user_id, role, joined_at, last_read_seq FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_by_user ON members (user_id);
