//! Channel logs: history reads (`EventLog`) and the Sequencer's write transaction (`LogTx`).
//!
//! The transaction runs on the writer thread (see `writer`), calling SQLite
//! in-thread: a statement costs no hand-off, so each `LogTx` method runs one
//! prepared statement per key, each a primary-key (or dedupe-index) probe,
//! with nothing to encode or unpack in between.

use async_trait::async_trait;
use parley_core::apply::apply_stamped;
use parley_core::command::{Applied, Command, Stamp};
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, Event, EventKind, Role};
use parley_core::parse::Seq;
use parley_core::ports::{
    ChannelChange, ChannelHead, EventLog, HeadState, LogTx, MemberChange, MessageChange, PostKey, Reaction, Search,
    Target,
};
use parley_core::row::mentions_column;
use parley_core::time::Timestamp;
use parley_core::Result;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{db_err, write_err};
use crate::rows::{self, event_columns, id, EventRow, IdText};
use crate::{search, SqliteStore};

pub(crate) const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3"
);
pub(crate) const EVENTS_BEFORE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = ?1 AND e.seq < ?2 ORDER BY e.seq DESC LIMIT ?3"
);
pub(crate) const HEAD: &str = "SELECT c.last_seq, c.kind = 'direct', c.archived_at IS NOT NULL FROM channels c \
     WHERE c.id = ?1 AND c.deleted_at IS NULL";
pub(crate) const BANNED: &str = "SELECT 1 FROM bans b WHERE b.channel_id = ?1 AND b.user_id = ?2";
/// Whether a member of DM `?1` blocks sender `?2`.
pub(crate) const BLOCKED_IN: &str = "SELECT 1 FROM blocks k INDEXED BY blocks_by_blocked \
     CROSS JOIN members m ON m.channel_id = ?1 AND m.user_id = k.user_id WHERE k.blocked_id = ?2";
pub(crate) const RENAME: &str = "UPDATE channels SET name = ?2 WHERE id = ?1";
pub(crate) const SET_TOPIC: &str = "UPDATE channels SET topic = ?2 WHERE id = ?1";
pub(crate) const ARCHIVE: &str = "UPDATE channels SET archived_at = ?2 WHERE id = ?1";
pub(crate) const DELETE_CHANNEL: &str = "UPDATE channels SET deleted_at = ?2 WHERE id = ?1";
pub(crate) const REMOVE_MEMBERS: &str = "DELETE FROM members WHERE channel_id = ?1";
pub(crate) const BAN: &str =
    "INSERT OR IGNORE INTO bans (channel_id, user_id, banned_by, banned_at) VALUES (?1, ?2, ?3, ?4)";
pub(crate) const UNBAN: &str = "DELETE FROM bans WHERE channel_id = ?1 AND user_id = ?2";
pub(crate) const MEMBERSHIP: &str = "SELECT m.role FROM members m WHERE m.channel_id = ?1 AND m.user_id = ?2";
pub(crate) const TARGET: &str =
    "SELECT e.id, e.sender_id, e.body, e.reply_to_seq, e.deleted, e.pinned_by FROM events e \
     WHERE e.channel_id = ?1 AND e.seq = ?2 AND e.type = 'message'";
pub(crate) const REACTIONS_ON: &str =
    "SELECT r.emoji, r.user_id, r.added_seq FROM reactions r WHERE r.channel_id = ?1 AND r.seq = ?2";
pub(crate) const PIN_COUNT: &str = "SELECT COUNT(*) FROM events e WHERE e.channel_id = ?1 AND e.pinned_at IS NOT NULL";
/// A page's reactions: every message of the page is in `seq` ?2 to ?3.
pub(crate) const REACTIONS: &str = "SELECT r.channel_id, r.seq, r.emoji, r.user_id, r.added_seq FROM reactions r \
     WHERE r.channel_id = ?1 AND r.seq >= ?2 AND r.seq <= ?3 ORDER BY r.added_seq";
/// The thread index, named: without statistics the planner would walk every
/// event after the root instead.
pub(crate) const THREAD: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e INDEXED BY events_thread",
    " WHERE e.channel_id = ?1 AND e.reply_to_seq = ?2 AND e.seq > ?3 ORDER BY e.seq LIMIT ?4"
);
pub(crate) const PINS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = ?1 AND e.pinned_at IS NOT NULL ORDER BY e.pinned_at DESC, e.seq DESC"
);
pub(crate) const SET_ROLE: &str = "UPDATE members SET role = ?3 WHERE channel_id = ?1 AND user_id = ?2";
pub(crate) const EDIT: &str = "UPDATE events SET body = ?3, edited_at = ?4, changed_seq = ?5, mentions = ?6 \
     WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const DROP_MENTIONS: &str = "DELETE FROM mentions WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const ADD_MENTION: &str =
    "INSERT INTO mentions (user_id, channel_id, seq, event_id) VALUES (?1, ?2, ?3, ?4)";
pub(crate) const USER_NAMED: &str = "SELECT u.id FROM users u WHERE u.username = ?1";
/// `?1`: the user; `?2`: the id of the message the page goes back from
/// (`~`, after every id, for the newest); `?3`: how many.
pub(crate) const MENTIONS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM mentions n CROSS JOIN events e ON e.channel_id = n.channel_id AND e.seq = n.seq",
    " WHERE n.user_id = ?1 AND n.event_id < ?2",
    " AND EXISTS (SELECT 1 FROM members m WHERE m.channel_id = n.channel_id AND m.user_id = n.user_id)",
    " ORDER BY n.event_id DESC LIMIT ?3"
);
pub(crate) const DELETE_MESSAGE: &str = "UPDATE events SET body = '', mentions = NULL, deleted = 1, pinned_by = NULL, \
     pinned_at = NULL, changed_seq = ?3 WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const CHANGED: &str = "UPDATE events SET changed_seq = ?3 WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const EMPTY_EDITS: &str = "UPDATE events INDEXED BY events_target SET body = '', mentions = NULL \
     WHERE channel_id = ?1 AND target_seq = ?2 AND type = 'message_edited'";
pub(crate) const DROP_REACTIONS: &str = "DELETE FROM reactions WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const ADD_REACTION: &str =
    "INSERT INTO reactions (channel_id, seq, emoji, user_id, added_seq) VALUES (?1, ?2, ?3, ?4, ?5)";
pub(crate) const REMOVE_REACTION: &str =
    "DELETE FROM reactions WHERE channel_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4";
pub(crate) const PIN: &str =
    "UPDATE events SET pinned_by = ?3, pinned_at = ?4, changed_seq = ?5 WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const REPLIED: &str = "UPDATE events SET reply_count = reply_count + ?3, \
     last_reply_at = coalesce(?4, last_reply_at), changed_seq = ?5 WHERE channel_id = ?1 AND seq = ?2";
/// `e.client_msg_id = ?3` implies NOT NULL, which is what lets the partial
/// dedupe index serve.
pub(crate) const FIND_POST: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = ?1 AND e.sender_id = ?2 AND e.client_msg_id = ?3"
);
pub(crate) const FIND_DM: &str = "SELECT c.id FROM channels c WHERE c.dm_key = ?1";
/// `?1`: a name key; served by the `channels_by_name` index, as `channels::NAMED`.
pub(crate) const FIND_NAMED: &str =
    "SELECT c.id FROM channels c WHERE lower(c.name) = ?1 AND c.kind <> 'direct' AND c.deleted_at IS NULL";
pub(crate) const INSERT_CHANNEL: &str = "INSERT INTO channels (id, kind, name, topic, created_at, created_by, \
     dm_key, last_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
pub(crate) const ADD_MEMBER: &str =
    "INSERT INTO members (channel_id, user_id, role, joined_at, last_read_seq) VALUES (?1, ?2, ?3, ?4, ?5)";
pub(crate) const REMOVE_MEMBER: &str = "DELETE FROM members WHERE channel_id = ?1 AND user_id = ?2";
pub(crate) const INSERT_EVENT: &str = "INSERT INTO events (channel_id, seq, id, type, sender_id, created_at, \
     client_msg_id, body, reply_to_seq, user_id, target_seq, emoji, role, mentions, search_rowid) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
pub(crate) const SET_HEAD: &str = "UPDATE channels SET last_seq = ?2 WHERE id = ?1";

#[async_trait]
impl EventLog for SqliteStore {
    async fn events_after(&self, channel: ChannelId, after: Seq, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(EVENTS_AFTER)
            .bind(channel.to_string())
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn events_before(&self, channel: ChannelId, before: Option<Seq>, limit: u32) -> Result<Vec<Event>> {
        // Newest first to take the last `limit` with one backward range scan,
        // then turned around to oldest first.
        let mut events = sqlx::query_as::<_, EventRow>(EVENTS_BEFORE)
            .bind(channel.to_string())
            .bind(before.unwrap_or(Seq::MAX))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    async fn stored_post(&self, key: &PostKey<'_>) -> Result<Option<Event>> {
        sqlx::query_as::<_, EventRow>(FIND_POST)
            .bind(key.channel_id.to_string())
            .bind(key.sender_id.to_string())
            .bind(key.client_msg_id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(EventRow::decode)
            .transpose()
    }

    async fn reactions(&self, channel: ChannelId, seqs: &[Seq]) -> Result<Vec<Reaction>> {
        let (Some(first), Some(last)) = (seqs.iter().min(), seqs.iter().max()) else { return Ok(Vec::new()) };
        let rows: Vec<(String, i64, String, String, i64)> = sqlx::query_as(REACTIONS)
            .bind(channel.to_string())
            .bind(first)
            .bind(last)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .filter(|row| seqs.contains(&row.1))
            .map(|(channel_id, seq, emoji, user_id, added_seq)| {
                Ok(Reaction {
                    channel_id: id("reaction channel", &channel_id)?,
                    seq,
                    emoji,
                    user_id: id("reaction user", &user_id)?,
                    added_seq,
                })
            })
            .collect()
    }

    async fn thread(&self, channel: ChannelId, root: Seq, after: Seq, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(THREAD)
            .bind(channel.to_string())
            .bind(root)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn pins(&self, channel: ChannelId) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(PINS)
            .bind(channel.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn mentions(&self, user: UserId, before: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(MENTIONS)
            .bind(user.to_string())
            .bind(before.map_or_else(|| "~".to_owned(), |id| id.to_string()))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn search(&self, search: &Search<'_>) -> Result<Vec<Event>> {
        search::search(&self.read, search).await
    }

    async fn append(&self, commands: Vec<Command>) -> Result<Applied> {
        self.replay(commands, Vec::new()).await
    }

    async fn replay(&self, commands: Vec<Command>, stamps: Vec<Stamp>) -> Result<Applied> {
        self.writer
            .run(move |conn| {
                let tx = WriterTx::begin(conn)?;
                // The writer's own thread, outside the runtime: blocking on
                // the rules is a plain call, as every `WriterTx` method runs
                // to the end when called.
                futures::executor::block_on(apply_stamped(Box::new(tx), &commands, &stamps))
            })
            .await
    }
}

/// The Sequencer's transaction, on the writer thread. `BEGIN IMMEDIATE` takes
/// the write lock up front (no reader can hold it up in WAL mode); dropped
/// without commit, it rolls back.
struct WriterTx<'c> {
    conn: &'c mut Connection,
}

impl<'c> WriterTx<'c> {
    fn begin(conn: &'c mut Connection) -> Result<WriterTx<'c>> {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(write_err)?;
        Ok(WriterTx { conn })
    }

    fn execute(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.conn.prepare_cached(sql).map_err(write_err)?.execute(params).map_err(write_err)?;
        Ok(())
    }
}

impl Drop for WriterTx<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            if let Err(error) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(%error, "sqlite writer: rollback failed");
            }
        }
    }
}

/// An event's columns in the order of [`INSERT_EVENT`].
type EventParams<'a> = (
    IdText,
    Seq,
    IdText,
    &'static str,
    IdText,
    i64,
    Option<&'a str>,
    Option<&'a str>,
    Option<Seq>,
    Option<IdText>,
    Option<Seq>,
    Option<&'a str>,
    Option<&'static str>,
    Option<String>,
    Option<i64>,
);

/// `search_rowid`: a message's number in the search index.
fn event_params(event: &Event, search_rowid: Option<i64>) -> EventParams<'_> {
    let columns = event.kind.columns();
    let mentions = columns.mentions.clone();
    (
        IdText::of(event.channel_id.as_uuid()),
        event.seq,
        IdText::of(event.id.as_uuid()),
        event.kind.type_name(),
        IdText::of(event.sender_id.as_uuid()),
        event.created_at.millis(),
        columns.client_msg_id,
        columns.body,
        columns.reply_to_seq,
        columns.user_id.map(|user| IdText::of(user.as_uuid())),
        columns.target_seq,
        columns.emoji,
        columns.role.map(Role::as_str),
        mentions,
        search_rowid,
    )
}

#[async_trait]
impl LogTx for WriterTx<'_> {
    async fn heads(&mut self, channels: &[ChannelId]) -> Result<Vec<ChannelHead>> {
        let mut statement = self.conn.prepare_cached(HEAD).map_err(write_err)?;
        let mut heads = Vec::with_capacity(channels.len());
        for channel in channels {
            let head = statement
                .query_row([IdText::of(channel.as_uuid())], |row| {
                    let state = HeadState { direct: row.get(1)?, archived: row.get(2)? };
                    Ok(ChannelHead { id: *channel, last_seq: row.get(0)?, state })
                })
                .optional()
                .map_err(write_err)?;
            heads.extend(head);
        }
        Ok(heads)
    }

    async fn bans(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>> {
        let mut statement = self.conn.prepare_cached(BANNED).map_err(write_err)?;
        let mut found = Vec::new();
        for &(channel, user) in pairs {
            let key = [IdText::of(channel.as_uuid()), IdText::of(user.as_uuid())];
            if statement.exists(key).map_err(write_err)? {
                found.push((channel, user));
            }
        }
        Ok(found)
    }

    async fn blocked_in(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>> {
        let mut statement = self.conn.prepare_cached(BLOCKED_IN).map_err(write_err)?;
        let mut found = Vec::new();
        for &(channel, sender) in pairs {
            let key = [IdText::of(channel.as_uuid()), IdText::of(sender.as_uuid())];
            if statement.exists(key).map_err(write_err)? {
                found.push((channel, sender));
            }
        }
        Ok(found)
    }

    async fn change_channels(&mut self, changes: &[ChannelChange]) -> Result<()> {
        for change in changes {
            match change {
                ChannelChange::Renamed { channel, name } => self.execute(RENAME, (channel.to_string(), name))?,
                ChannelChange::Topic { channel, topic } => self.execute(SET_TOPIC, (channel.to_string(), topic))?,
                ChannelChange::Archived { channel, at } => {
                    self.execute(ARCHIVE, (channel.to_string(), at.map(Timestamp::millis)))?
                }
                ChannelChange::Deleted { channel, at } => {
                    self.execute(DELETE_CHANNEL, (channel.to_string(), at.millis()))?;
                    self.execute(REMOVE_MEMBERS, [channel.to_string()])?
                }
            }
        }
        Ok(())
    }

    async fn memberships(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId, Role)>> {
        let mut statement = self.conn.prepare_cached(MEMBERSHIP).map_err(write_err)?;
        let mut found = Vec::with_capacity(pairs.len());
        for &(channel, user) in pairs {
            let key = [IdText::of(channel.as_uuid()), IdText::of(user.as_uuid())];
            let role: Option<String> = statement.query_row(key, |row| row.get(0)).optional().map_err(write_err)?;
            if let Some(role) = role {
                found.push((channel, user, rows::role(&role)?));
            }
        }
        Ok(found)
    }

    async fn messages(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Target>> {
        let mut statement = self.conn.prepare_cached(TARGET).map_err(write_err)?;
        let mut found = Vec::with_capacity(targets.len());
        for &(channel, seq) in targets {
            type Row = (String, String, String, Option<Seq>, i64, Option<String>);
            let row: Option<Row> = statement
                .query_row((IdText::of(channel.as_uuid()), seq), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })
                .optional()
                .map_err(write_err)?;
            if let Some((event, sender, body, reply_to_seq, deleted, pinned_by)) = row {
                found.push(Target {
                    channel_id: channel,
                    seq,
                    id: id("message id", &event)?,
                    sender_id: id("message sender", &sender)?,
                    body,
                    reply_to_seq,
                    deleted: deleted != 0,
                    pinned_by: pinned_by.map(|by| id("pinned by", &by)).transpose()?,
                });
            }
        }
        Ok(found)
    }

    async fn reactions(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Reaction>> {
        let mut statement = self.conn.prepare_cached(REACTIONS_ON).map_err(write_err)?;
        let mut found = Vec::new();
        for &(channel, seq) in targets {
            let rows = statement
                .query_map((IdText::of(channel.as_uuid()), seq), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                })
                .map_err(write_err)?;
            for row in rows {
                let (emoji, user, added_seq) = row.map_err(write_err)?;
                let user_id = id("reaction user", &user)?;
                found.push(Reaction { channel_id: channel, seq, emoji, user_id, added_seq });
            }
        }
        Ok(found)
    }

    async fn pin_counts(&mut self, channels: &[ChannelId]) -> Result<Vec<(ChannelId, u32)>> {
        let mut statement = self.conn.prepare_cached(PIN_COUNT).map_err(write_err)?;
        let mut counts = Vec::with_capacity(channels.len());
        for channel in channels {
            let count: u32 = statement.query_row([IdText::of(channel.as_uuid())], |r| r.get(0)).map_err(write_err)?;
            counts.push((*channel, count));
        }
        Ok(counts)
    }

    async fn users_named(&mut self, usernames: &[String]) -> Result<Vec<(String, UserId)>> {
        let mut statement = self.conn.prepare_cached(USER_NAMED).map_err(write_err)?;
        let mut found = Vec::with_capacity(usernames.len());
        for name in usernames {
            let user: Option<String> = statement.query_row([name], |row| row.get(0)).optional().map_err(write_err)?;
            if let Some(user) = user {
                found.push((name.clone(), id("user id", &user)?));
            }
        }
        Ok(found)
    }

    async fn find_posts(&mut self, keys: &[PostKey<'_>]) -> Result<Vec<Event>> {
        let mut statement = self.conn.prepare_cached(FIND_POST).map_err(write_err)?;
        let mut found = Vec::new();
        for key in keys {
            let row = statement
                .query_row(
                    params![
                        IdText::of(key.channel_id.as_uuid()),
                        IdText::of(key.sender_id.as_uuid()),
                        key.client_msg_id
                    ],
                    EventRow::from_row,
                )
                .optional()
                .map_err(write_err)?;
            if let Some(row) = row {
                found.push(row.decode()?);
            }
        }
        Ok(found)
    }

    async fn find_dm(&mut self, dm_key: &str) -> Result<Option<ChannelId>> {
        let mut statement = self.conn.prepare_cached(FIND_DM).map_err(write_err)?;
        let found: Option<String> = statement.query_row([dm_key], |row| row.get(0)).optional().map_err(write_err)?;
        found.map(|channel| id("channel id", &channel)).transpose()
    }

    /// One writer at a time: nothing to hold.
    async fn find_named(&mut self, keys: &[String]) -> Result<Vec<(String, ChannelId)>> {
        let mut statement = self.conn.prepare_cached(FIND_NAMED).map_err(write_err)?;
        let mut found = Vec::new();
        for key in keys {
            let holder: Option<String> = statement.query_row([key], |row| row.get(0)).optional().map_err(write_err)?;
            if let Some(holder) = holder {
                found.push((key.clone(), id("channel id", &holder)?));
            }
        }
        Ok(found)
    }

    async fn insert_channel(&mut self, channel: &Channel) -> Result<()> {
        self.execute(
            INSERT_CHANNEL,
            (
                channel.id.to_string(),
                channel.kind.as_str(),
                &channel.name,
                &channel.topic,
                channel.created_at.millis(),
                channel.created_by.to_string(),
                channel.dm_key.as_deref(),
                channel.last_seq,
            ),
        )
    }

    /// In order, one statement each: an add and a later remove of the same
    /// pair land as they were made.
    async fn change_members(&mut self, changes: &[MemberChange]) -> Result<()> {
        for change in changes {
            match change {
                MemberChange::Add { channel, user, role, at, read_through } => {
                    let row = (channel.to_string(), user.to_string(), role.as_str(), at.millis(), read_through);
                    self.execute(ADD_MEMBER, row)?
                }
                MemberChange::Remove { channel, user } => {
                    self.execute(REMOVE_MEMBER, (channel.to_string(), user.to_string()))?
                }
                MemberChange::SetRole { channel, user, role } => {
                    self.execute(SET_ROLE, (channel.to_string(), user.to_string(), role.as_str()))?
                }
                MemberChange::Ban { channel, user, by, at } => {
                    self.execute(BAN, (channel.to_string(), user.to_string(), by.to_string(), at.millis()))?
                }
                MemberChange::Unban { channel, user } => {
                    self.execute(UNBAN, (channel.to_string(), user.to_string()))?
                }
            }
        }
        Ok(())
    }

    async fn insert_events(&mut self, events: &[Event]) -> Result<()> {
        let mut next = search::next_rowid(self.conn)?;
        let mut statement = self.conn.prepare_cached(INSERT_EVENT).map_err(write_err)?;
        for event in events {
            match &event.kind {
                EventKind::Message { body, .. } => {
                    statement.execute(event_params(event, Some(next))).map_err(write_err)?;
                    search::index(self.conn, next, body)?;
                    next += 1;
                }
                _ => {
                    statement.execute(event_params(event, None)).map_err(write_err)?;
                }
            }
        }
        Ok(())
    }

    async fn change_messages(&mut self, changes: &[MessageChange]) -> Result<()> {
        for change in changes {
            match change {
                MessageChange::Edited { channel, seq, body, mentions, at, by_seq } => {
                    let mentions = mentions_column(mentions);
                    self.execute(EDIT, (IdText::of(channel.as_uuid()), seq, body, at.millis(), by_seq, mentions))?;
                    search::reindex(self.conn, *channel, *seq, body)?;
                }
                MessageChange::Mentioned { channel, seq, id, users } => {
                    self.execute(DROP_MENTIONS, (IdText::of(channel.as_uuid()), seq))?;
                    let mut statement = self.conn.prepare_cached(ADD_MENTION).map_err(write_err)?;
                    for user in users {
                        let row =
                            (IdText::of(user.as_uuid()), IdText::of(channel.as_uuid()), seq, IdText::of(id.as_uuid()));
                        statement.execute(row).map_err(write_err)?;
                    }
                }
                MessageChange::Deleted { channel, seq, by_seq } => {
                    self.execute(DELETE_MESSAGE, (IdText::of(channel.as_uuid()), seq, by_seq))?;
                    self.execute(EMPTY_EDITS, (IdText::of(channel.as_uuid()), seq))?;
                    self.execute(DROP_REACTIONS, (IdText::of(channel.as_uuid()), seq))?;
                    self.execute(DROP_MENTIONS, (IdText::of(channel.as_uuid()), seq))?;
                    search::unindex(self.conn, *channel, *seq)?;
                }
                MessageChange::Reacted { reaction, add } => {
                    let r = reaction;
                    let (channel, user) = (IdText::of(r.channel_id.as_uuid()), IdText::of(r.user_id.as_uuid()));
                    match add {
                        true => self.execute(ADD_REACTION, (channel, r.seq, r.emoji.as_str(), user, r.added_seq))?,
                        false => self.execute(REMOVE_REACTION, (channel, r.seq, r.emoji.as_str(), user))?,
                    }
                    self.execute(CHANGED, (IdText::of(r.channel_id.as_uuid()), r.seq, r.added_seq))?;
                }
                MessageChange::Pinned { channel, seq, by, at, by_seq } => {
                    let by = by.map(|by| IdText::of(by.as_uuid()));
                    let at = by.as_ref().map(|_| at.millis());
                    self.execute(PIN, (IdText::of(channel.as_uuid()), seq, by, at, by_seq))?
                }
                MessageChange::Replied { channel, root, delta, at, by_seq } => {
                    let at = at.map(|at| at.millis());
                    self.execute(REPLIED, (IdText::of(channel.as_uuid()), root, delta, at, by_seq))?
                }
            }
        }
        Ok(())
    }

    async fn set_heads(&mut self, heads: &[ChannelHead]) -> Result<()> {
        let mut statement = self.conn.prepare_cached(SET_HEAD).map_err(write_err)?;
        for head in heads {
            statement.execute((IdText::of(head.id.as_uuid()), head.last_seq)).map_err(write_err)?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(write_err)
    }
}
