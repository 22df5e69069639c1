-- Moderation (parley_core::apply, change.rs): channels renamed, archived and
-- deleted, members removed and banned, each an event of the channel's log.
--
-- No CHECK on `events.type`, nor on which columns each type fills, any
-- more: the one writer maps kinds to rows in one place (parley_core::row),
-- and a row that does not read back as its type is refused when read, as on
-- SQLite, where a CHECK cannot be changed without building the table again.
ALTER TABLE events DROP CONSTRAINT events_type_check,
    DROP CONSTRAINT events_client_msg_id_check,
    DROP CONSTRAINT events_body_check,
    DROP CONSTRAINT events_user_id_check;

ALTER TABLE channels ADD COLUMN archived_at timestamptz;
-- A deleted channel is gone from every read; its row stays for its log.
ALTER TABLE channels ADD COLUMN deleted_at timestamptz;
-- A deleted channel's name is free again.
DROP INDEX channels_by_name;
CREATE UNIQUE INDEX channels_by_name ON channels (lower(name)) WHERE kind <> 'direct' AND deleted_at IS NULL;

CREATE TABLE bans (
    channel_id uuid NOT NULL,
    user_id    uuid NOT NULL,
    banned_by  uuid NOT NULL,
    banned_at  timestamptz NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- Whom each person blocks: their messages in a DM with the blocker are refused.
CREATE TABLE blocks (
    user_id    uuid NOT NULL,
    blocked_id uuid NOT NULL,
    blocked_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks (blocked_id, user_id);
