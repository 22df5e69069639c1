-- Mentions. A message's or an edit's own: the members its text names and
-- the words @channel and @here, space-separated (parley_core::row), NULL
-- for none. And whom each message tells, one row per member told (named,
-- or reached by @channel or @here), replaced when the message is edited and
-- dropped when it is deleted: what a member's unread mention count and
-- their list of mentions are read from. `event_id` orders that list.
ALTER TABLE events ADD COLUMN mentions text;

CREATE TABLE mentions (
    user_id    uuid NOT NULL,
    channel_id uuid NOT NULL,
    seq        bigint NOT NULL,
    event_id   uuid NOT NULL,
    PRIMARY KEY (user_id, channel_id, seq)
);

CREATE INDEX mentions_newest ON mentions (user_id, event_id);
CREATE INDEX mentions_of_message ON mentions (channel_id, seq);
