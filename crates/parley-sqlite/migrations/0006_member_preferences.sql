-- Each member's preferences in a channel: what to be told of when not
-- looking (NULL until chosen: every message of a DM, mentions elsewhere),
-- and whether it is muted (no unread badge, no notification).
ALTER TABLE members ADD COLUMN notify TEXT CHECK (notify IN ('all', 'mentions', 'none'));
ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1));
