-- Changes to messages are events of the channel's log (edits, deletes,
-- reactions, pins, members' roles), and a message's row keeps its current
-- state beside them, updated in the transaction that appends the change, so
-- that a page of history carries it without folding the log.

-- The checks on `type` and on which columns each type fills, made again
-- for the new types (every CHECK of `events` but the one on `seq`).
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'events'::regclass AND contype = 'c' AND conname <> 'events_seq_check'
    LOOP
        EXECUTE format('ALTER TABLE events DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;

ALTER TABLE events
    -- a change to a message: which one
    ADD COLUMN target_seq    bigint,
    ADD COLUMN emoji         text,
    ADD COLUMN role          text,
    -- a message's current state
    ADD COLUMN edited_at     timestamptz,
    ADD COLUMN deleted       boolean NOT NULL DEFAULT false,
    ADD COLUMN pinned_by     uuid,
    ADD COLUMN pinned_at     timestamptz,
    ADD COLUMN reply_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_reply_at timestamptz,
    -- the seq of the last change the state above includes
    ADD COLUMN changed_seq   bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT events_type_check CHECK (type IN ('message', 'member_joined', 'member_left',
        'message_edited', 'message_deleted', 'reaction_added', 'reaction_removed',
        'message_pinned', 'message_unpinned', 'member_role_changed')),
    -- every change a client makes has its dedupe key; a message and an edit
    -- their text ('' once the message is deleted)
    ADD CONSTRAINT events_client_msg_id_check
        CHECK ((type IN ('member_joined', 'member_left')) = (client_msg_id IS NULL)),
    ADD CONSTRAINT events_body_check CHECK ((type IN ('message', 'message_edited')) = (body IS NOT NULL)),
    ADD CONSTRAINT events_user_id_check
        CHECK ((type IN ('member_joined', 'member_left', 'member_role_changed')) = (user_id IS NOT NULL));

-- A thread's replies.
CREATE INDEX events_thread ON events (channel_id, reply_to_seq, seq) WHERE reply_to_seq IS NOT NULL;
-- The changes of one message (a delete empties its edits' bodies).
CREATE INDEX events_target ON events (channel_id, target_seq) WHERE target_seq IS NOT NULL;
-- A channel's pins, and how many it has.
CREATE INDEX events_pins ON events (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Replies stored before threads were counted.
UPDATE events root SET reply_count = r.n, last_reply_at = r.last, changed_seq = r.newest
    FROM (SELECT channel_id, reply_to_seq, COUNT(*) AS n, MAX(created_at) AS last, MAX(seq) AS newest
          FROM events WHERE reply_to_seq IS NOT NULL GROUP BY channel_id, reply_to_seq) r
    WHERE root.channel_id = r.channel_id AND root.seq = r.reply_to_seq AND root.type = 'message';

CREATE TABLE reactions (
    channel_id uuid NOT NULL,
    seq        bigint NOT NULL,
    emoji      text NOT NULL,
    user_id    uuid NOT NULL,
    -- the seq of the reaction_added event: the order reactions are served in
    added_seq  bigint NOT NULL,
    PRIMARY KEY (channel_id, seq, emoji, user_id)
);

ALTER TABLE members DROP CONSTRAINT members_role_check,
    ADD CONSTRAINT members_role_check CHECK (role IN ('owner', 'admin', 'member'));
