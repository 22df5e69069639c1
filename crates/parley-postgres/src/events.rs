//! Channel logs: history reads (`EventLog`) and the Sequencer's write transaction (`LogTx`).
//!
//! The Sequencer asks for a whole batch at once — up to thousands of keys — so
//! each `LogTx` method is ONE statement, one round trip, whatever the batch
//! size: the keys go in as one typed array per column (sent in binary), zipped
//! back into rows by `UNNEST`, and each row costs one index probe.
//!
//! Two Sequencers may write at once (a zombie partition owner after a Kafka
//! rebalance). `heads` locks the head rows of the batch's channels, in id
//! order so two batches cannot deadlock, and everything after it reads with a
//! fresh snapshot (READ COMMITTED), so a second writer waits for the first to
//! commit and then sees its heads, members and messages: it dedupes against
//! them and numbers after them. The `(channel_id, seq)` key is the last guard.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parley_core::apply::{apply, apply_stamped};
use parley_core::command::{Applied, Command, Stamp};
use parley_core::fulltext;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, Event, EventKind, Role};
use parley_core::parse::Seq;
use parley_core::ports::{
    ChannelChange, ChannelHead, EventLog, HeadState, LogTx, MemberChange, MessageChange, PostKey, Reaction, Search,
    Target,
};
use parley_core::row::mentions_column;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::db_err;
use crate::rows::{self, event_columns, to_db, EventRow};
use crate::search::{self, Indexed};
use crate::PostgresStore;

pub(crate) const EVENTS_AFTER: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
);
pub(crate) const EVENTS_BEFORE: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = $1 AND e.seq < $2 ORDER BY e.seq DESC LIMIT $3"
);
/// `$1`: channel ids. `FOR NO KEY UPDATE` is the lock the head's own UPDATE
/// takes: it excludes other writers of the channel, yet does not block inserts
/// that only reference the channel (an invite, a member of another batch).
pub(crate) const HEADS: &str = "SELECT c.id, c.last_seq, c.kind = 'direct', c.archived_at IS NOT NULL \
     FROM channels c WHERE c.id = ANY($1) AND c.deleted_at IS NULL ORDER BY c.id FOR NO KEY UPDATE";
/// `$1`, `$2`: channel and user ids, pairwise.
pub(crate) const BANNED: &str = "SELECT b.channel_id, b.user_id \
     FROM UNNEST($1::uuid[], $2::uuid[]) AS k (channel_id, user_id) \
     JOIN bans b ON b.channel_id = k.channel_id AND b.user_id = k.user_id";
/// `$1`, `$2`: DMs and senders, pairwise: those with a member who blocks the sender.
pub(crate) const BLOCKED_IN: &str = "SELECT DISTINCT k.channel_id, k.sender_id \
     FROM UNNEST($1::uuid[], $2::uuid[]) AS k (channel_id, sender_id) \
     JOIN blocks b ON b.blocked_id = k.sender_id \
     JOIN members m ON m.channel_id = k.channel_id AND m.user_id = b.user_id";
pub(crate) const RENAME: &str = "UPDATE channels SET name = $2 WHERE id = $1";
pub(crate) const SET_TOPIC: &str = "UPDATE channels SET topic = $2 WHERE id = $1";
pub(crate) const ARCHIVE: &str = "UPDATE channels SET archived_at = $2 WHERE id = $1";
/// A deleted channel's members go with it.
pub(crate) const DELETE_CHANNEL: &str = "WITH gone AS (DELETE FROM members WHERE channel_id = $1) \
     UPDATE channels SET deleted_at = $2 WHERE id = $1";
/// `$1`…`$4`: the bans (channel, user, by, at); `$5`, `$6`: the pairs unbanned.
/// Disjoint, as for `CHANGE_MEMBERS`.
pub(crate) const CHANGE_BANS: &str = "WITH unbanned AS ( \
       DELETE FROM bans b USING UNNEST($5::uuid[], $6::uuid[]) AS u (channel_id, user_id) \
       WHERE b.channel_id = u.channel_id AND b.user_id = u.user_id) \
     INSERT INTO bans (channel_id, user_id, banned_by, banned_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[]) ON CONFLICT DO NOTHING";
/// `$1`, `$2`: channel and user ids, pairwise.
pub(crate) const MEMBERSHIPS: &str = "SELECT m.channel_id, m.user_id, m.role \
     FROM UNNEST($1::uuid[], $2::uuid[]) AS k (channel_id, user_id) \
     JOIN members m ON m.channel_id = k.channel_id AND m.user_id = k.user_id";
/// `$1`, `$2`: channel ids and seqs, pairwise.
pub(crate) const TARGETS: &str = "SELECT e.channel_id, e.seq, e.id, e.sender_id, e.body, e.reply_to_seq, e.deleted, \
     e.pinned_by FROM UNNEST($1::uuid[], $2::int8[]) AS k (channel_id, seq) \
     JOIN events e ON e.channel_id = k.channel_id AND e.seq = k.seq WHERE e.type = 'message'";
/// `$1`, `$2`: channel ids and seqs, pairwise.
pub(crate) const REACTIONS_ON: &str = "SELECT r.channel_id, r.seq, r.emoji, r.user_id, r.added_seq \
     FROM UNNEST($1::uuid[], $2::int8[]) AS k (channel_id, seq) \
     JOIN reactions r ON r.channel_id = k.channel_id AND r.seq = k.seq";
pub(crate) const PIN_COUNTS: &str = "SELECT e.channel_id, COUNT(*) FROM events e \
     WHERE e.channel_id = ANY($1) AND e.pinned_at IS NOT NULL GROUP BY e.channel_id";
pub(crate) const REACTIONS: &str = "SELECT r.channel_id, r.seq, r.emoji, r.user_id, r.added_seq FROM reactions r \
     WHERE r.channel_id = $1 AND r.seq = ANY($2) ORDER BY r.added_seq";
pub(crate) const THREAD: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = $1 AND e.reply_to_seq = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4"
);
pub(crate) const PINS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e WHERE e.channel_id = $1 AND e.pinned_at IS NOT NULL ORDER BY e.pinned_at DESC, e.seq DESC"
);
/// `$1`…`$3`: channel, user and role, row-wise.
pub(crate) const SET_ROLES: &str = "UPDATE members m SET role = k.role \
     FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS k (channel_id, user_id, role) \
     WHERE m.channel_id = k.channel_id AND m.user_id = k.user_id";
pub(crate) const EDIT: &str = "UPDATE events SET body = $3, edited_at = $4, changed_seq = $5, mentions = $6 \
     WHERE channel_id = $1 AND seq = $2";
pub(crate) const DROP_MENTIONS: &str = "DELETE FROM mentions WHERE channel_id = $1 AND seq = $2";
/// `$1`: the users told; `$2`…`$4`: the message's channel, seq and id.
pub(crate) const ADD_MENTIONS: &str = "INSERT INTO mentions (user_id, channel_id, seq, event_id) \
     SELECT u, $2, $3, $4 FROM UNNEST($1::uuid[]) AS u";
/// `$1`: usernames.
pub(crate) const USERS_NAMED: &str = "SELECT u.username, u.id FROM users u WHERE u.username = ANY($1)";
/// `$1`: the user; `$2`: the id of the message the page goes back from
/// (NULL: the newest); `$3`: how many.
pub(crate) const MENTIONS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM mentions n JOIN events e ON e.channel_id = n.channel_id AND e.seq = n.seq",
    " WHERE n.user_id = $1 AND ($2::uuid IS NULL OR n.event_id < $2)",
    " AND EXISTS (SELECT 1 FROM members m WHERE m.channel_id = n.channel_id AND m.user_id = n.user_id)",
    " ORDER BY n.event_id DESC LIMIT $3"
);
pub(crate) const DELETE_MESSAGE: &str =
    "UPDATE events SET body = '', mentions = NULL, deleted = true, pinned_by = NULL, \
     pinned_at = NULL, changed_seq = $3 WHERE channel_id = $1 AND seq = $2";
pub(crate) const CHANGED: &str = "UPDATE events SET changed_seq = $3 WHERE channel_id = $1 AND seq = $2";
pub(crate) const EMPTY_EDITS: &str =
    "UPDATE events SET body = '', mentions = NULL WHERE channel_id = $1 AND target_seq = $2 AND type = 'message_edited'";
pub(crate) const DROP_REACTIONS: &str = "DELETE FROM reactions WHERE channel_id = $1 AND seq = $2";
pub(crate) const ADD_REACTION: &str =
    "INSERT INTO reactions (channel_id, seq, emoji, user_id, added_seq) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const REMOVE_REACTION: &str =
    "DELETE FROM reactions WHERE channel_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4";
pub(crate) const PIN: &str =
    "UPDATE events SET pinned_by = $3, pinned_at = $4, changed_seq = $5 WHERE channel_id = $1 AND seq = $2";
pub(crate) const REPLIED: &str = "UPDATE events SET reply_count = reply_count + $3, \
     last_reply_at = coalesce($4, last_reply_at), changed_seq = $5 WHERE channel_id = $1 AND seq = $2";
/// `$1`, `$2`, `$3`: channel, sender and client_msg_id, row-wise. The IS NOT
/// NULL lets the partial dedupe index serve.
pub(crate) const FIND_POSTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS k (channel_id, sender_id, client_msg_id)",
    " JOIN events e ON e.channel_id = k.channel_id AND e.sender_id = k.sender_id",
    " AND e.client_msg_id = k.client_msg_id",
    " WHERE e.client_msg_id IS NOT NULL"
);
/// A transaction-scoped advisory lock per DM key, in a key space of its own
/// (the two-int form, first int `DM_LOCK_SPACE`).
pub(crate) const LOCK_DM: &str = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
const DM_LOCK_SPACE: i32 = 0x504d_444d; // "PMDM"
pub(crate) const FIND_DM: &str = "SELECT id FROM channels WHERE dm_key = $1";
/// A transaction-scoped advisory lock per channel name key, in a key space of
/// its own; `$2` holds a batch's keys. Taken in the order of their hashes, so
/// two batches that share names cannot deadlock (a subquery with ORDER BY is
/// not flattened: its rows come sorted, and each is locked as it comes).
pub(crate) const LOCK_NAMES: &str = "SELECT pg_advisory_xact_lock($1, h) \
     FROM (SELECT DISTINCT hashtext(k) AS h FROM UNNEST($2::text[]) AS k ORDER BY h) AS l";
const NAME_LOCK_SPACE: i32 = 0x504d_4e4d; // "PMNM"
/// `$1`: name keys. The expression and the kind are those of the
/// `channels_by_name` index, which is what lets it serve.
pub(crate) const FIND_NAMED: &str = "SELECT lower(c.name), c.id FROM channels c \
     WHERE lower(c.name) = ANY($1) AND c.kind <> 'direct' AND c.deleted_at IS NULL";
pub(crate) const INSERT_CHANNEL: &str = "INSERT INTO channels \
     (id, kind, name, topic, created_at, created_by, dm_key, last_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// `$1`, `$2`: the pairs to remove; `$3`…`$7`: the members to add (channel,
/// user, role, joined_at, the read marker at their join). The two sets are disjoint (see `change_members`), so
/// the order in which the DELETE and the INSERT run does not matter. An add
/// over an existing row is a leave and a join in one batch: a new membership.
pub(crate) const CHANGE_MEMBERS: &str = "WITH removed AS ( \
       DELETE FROM members m USING UNNEST($1::uuid[], $2::uuid[]) AS r (channel_id, user_id) \
       WHERE m.channel_id = r.channel_id AND m.user_id = r.user_id) \
     INSERT INTO members (channel_id, user_id, role, joined_at, last_read_seq) \
     SELECT * FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::int8[]) \
     ON CONFLICT (channel_id, user_id) DO UPDATE \
       SET role = excluded.role, joined_at = excluded.joined_at, last_read_seq = excluded.last_read_seq";
/// `$1`…`$14`: the columns, in this order.
pub(crate) const INSERT_EVENTS: &str = "INSERT INTO events (channel_id, seq, id, type, sender_id, created_at, \
     client_msg_id, body, reply_to_seq, user_id, target_seq, emoji, role, mentions) \
     SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], \
     $7::text[], $8::text[], $9::int8[], $10::uuid[], $11::int8[], $12::text[], $13::text[], $14::text[])";
/// `$1`, `$2`: channel ids and their new heads. Heads only move forward: a
/// head that would not is left alone, and `set_heads` fails the batch.
pub(crate) const SET_HEADS: &str = "UPDATE channels c SET last_seq = h.last_seq \
     FROM UNNEST($1::uuid[], $2::int8[]) AS h (id, last_seq) \
     WHERE c.id = h.id AND c.last_seq < h.last_seq";

#[async_trait]
impl EventLog for PostgresStore {
    async fn events_after(&self, channel: ChannelId, after: Seq, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(EVENTS_AFTER)
            .bind(channel.as_uuid())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
            .bind(channel.as_uuid())
            .bind(before.unwrap_or(Seq::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    /// The batch's query with one key: the plan test covers it.
    async fn stored_post(&self, key: &PostKey<'_>) -> Result<Option<Event>> {
        sqlx::query_as::<_, EventRow>(FIND_POSTS)
            .bind(vec![key.channel_id.as_uuid()])
            .bind(vec![key.sender_id.as_uuid()])
            .bind(vec![key.client_msg_id])
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(EventRow::decode)
            .transpose()
    }

    async fn reactions(&self, channel: ChannelId, seqs: &[Seq]) -> Result<Vec<Reaction>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ReactionRow> =
            sqlx::query_as(REACTIONS).bind(channel.as_uuid()).bind(seqs).fetch_all(&self.pool).await.map_err(db_err)?;
        Ok(rows.into_iter().map(reaction).collect())
    }

    async fn thread(&self, channel: ChannelId, root: Seq, after: Seq, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(THREAD)
            .bind(channel.as_uuid())
            .bind(root)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn pins(&self, channel: ChannelId) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(PINS)
            .bind(channel.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn mentions(&self, user: UserId, before: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        sqlx::query_as::<_, EventRow>(MENTIONS)
            .bind(user.as_uuid())
            .bind(before.map(|id| id.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn search(&self, search: &Search<'_>) -> Result<Vec<Event>> {
        search::search(&self.pool, search).await
    }

    async fn append(&self, commands: Vec<Command>) -> Result<Applied> {
        apply(self.begin().await?, &commands).await
    }

    async fn replay(&self, commands: Vec<Command>, stamps: Vec<Stamp>) -> Result<Applied> {
        apply_stamped(self.begin().await?, &commands, &stamps).await
    }
}

impl PostgresStore {
    /// Opens the Sequencer's write transaction.
    pub async fn begin(&self) -> Result<Box<dyn LogTx>> {
        // READ COMMITTED (the default) on purpose: each statement after the
        // head locks sees what the previous holder of those locks committed.
        // REPEATABLE READ would instead fail the second writer.
        let tx = self.pool.begin().await.map_err(db_err)?;
        Ok(Box::new(PgLogTx { tx }))
    }
}

/// The Sequencer's transaction. It holds a pooled connection until commit;
/// dropped without commit, sqlx rolls it back.
struct PgLogTx {
    tx: Transaction<'static, Postgres>,
}

impl PgLogTx {
    /// The bans and unbans of a batch, each pair's last one.
    async fn change_bans<'c>(&mut self, changes: impl Iterator<Item = &'c MemberChange>) -> Result<()> {
        let mut last: HashMap<(ChannelId, UserId), Option<(UserId, Timestamp)>> = HashMap::new();
        for change in changes {
            match change {
                MemberChange::Ban { channel, user, by, at } => last.insert((*channel, *user), Some((*by, *at))),
                MemberChange::Unban { channel, user } => last.insert((*channel, *user), None),
                _ => None,
            };
        }
        if last.is_empty() {
            return Ok(());
        }
        let mut banned: (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, Vec<DateTime<Utc>>) = Default::default();
        let mut unbanned: (Vec<Uuid>, Vec<Uuid>) = Default::default();
        for ((channel, user), ban) in last {
            match ban {
                Some((by, at)) => {
                    banned.0.push(channel.as_uuid());
                    banned.1.push(user.as_uuid());
                    banned.2.push(by.as_uuid());
                    banned.3.push(to_db(at)?);
                }
                None => {
                    unbanned.0.push(channel.as_uuid());
                    unbanned.1.push(user.as_uuid());
                }
            }
        }
        sqlx::query(CHANGE_BANS)
            .bind(banned.0)
            .bind(banned.1)
            .bind(banned.2)
            .bind(banned.3)
            .bind(unbanned.0)
            .bind(unbanned.1)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl LogTx for PgLogTx {
    async fn heads(&mut self, channels: &[ChannelId]) -> Result<Vec<ChannelHead>> {
        let ids: Vec<Uuid> = channels.iter().map(ChannelId::as_uuid).collect();
        let rows: Vec<(Uuid, Seq, bool, bool)> =
            sqlx::query_as(HEADS).bind(ids).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, last_seq, direct, archived)| ChannelHead {
                id: ChannelId::from_uuid(id),
                last_seq,
                state: HeadState { direct, archived },
            })
            .collect())
    }

    async fn bans(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>> {
        let (channels, users): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().map(|(c, u)| (c.as_uuid(), u.as_uuid())).unzip();
        let rows: Vec<(Uuid, Uuid)> =
            sqlx::query_as(BANNED).bind(channels).bind(users).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|(c, u)| (ChannelId::from_uuid(c), UserId::from_uuid(u))).collect())
    }

    async fn blocked_in(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>> {
        let (channels, senders): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().map(|(c, u)| (c.as_uuid(), u.as_uuid())).unzip();
        let rows: Vec<(Uuid, Uuid)> =
            sqlx::query_as(BLOCKED_IN).bind(channels).bind(senders).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|(c, u)| (ChannelId::from_uuid(c), UserId::from_uuid(u))).collect())
    }

    async fn change_channels(&mut self, changes: &[ChannelChange]) -> Result<()> {
        for change in changes {
            let query = match change {
                ChannelChange::Renamed { channel, name } => sqlx::query(RENAME).bind(channel.as_uuid()).bind(name),
                ChannelChange::Topic { channel, topic } => sqlx::query(SET_TOPIC).bind(channel.as_uuid()).bind(topic),
                ChannelChange::Archived { channel, at } => {
                    sqlx::query(ARCHIVE).bind(channel.as_uuid()).bind(at.map(to_db).transpose()?)
                }
                ChannelChange::Deleted { channel, at } => {
                    sqlx::query(DELETE_CHANNEL).bind(channel.as_uuid()).bind(to_db(*at)?)
                }
            };
            query.execute(&mut *self.tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn memberships(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId, Role)>> {
        let (channels, users): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().map(|(c, u)| (c.as_uuid(), u.as_uuid())).unzip();
        let rows: Vec<(Uuid, Uuid, String)> =
            sqlx::query_as(MEMBERSHIPS).bind(channels).bind(users).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        rows.into_iter()
            .map(|(c, u, role)| Ok((ChannelId::from_uuid(c), UserId::from_uuid(u), rows::role(&role)?)))
            .collect()
    }

    async fn messages(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Target>> {
        let (channels, seqs): (Vec<Uuid>, Vec<Seq>) = targets.iter().map(|(c, s)| (c.as_uuid(), *s)).unzip();
        type Row = (Uuid, Seq, Uuid, Uuid, String, Option<Seq>, bool, Option<Uuid>);
        let rows: Vec<Row> =
            sqlx::query_as(TARGETS).bind(channels).bind(seqs).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(channel, seq, id, sender, body, reply_to_seq, deleted, pinned_by)| Target {
                channel_id: ChannelId::from_uuid(channel),
                seq,
                id: EventId::from_uuid(id),
                sender_id: UserId::from_uuid(sender),
                body,
                reply_to_seq,
                deleted,
                pinned_by: pinned_by.map(UserId::from_uuid),
            })
            .collect())
    }

    async fn reactions(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Reaction>> {
        let (channels, seqs): (Vec<Uuid>, Vec<Seq>) = targets.iter().map(|(c, s)| (c.as_uuid(), *s)).unzip();
        let rows: Vec<ReactionRow> =
            sqlx::query_as(REACTIONS_ON).bind(channels).bind(seqs).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows.into_iter().map(reaction).collect())
    }

    async fn pin_counts(&mut self, channels: &[ChannelId]) -> Result<Vec<(ChannelId, u32)>> {
        let ids: Vec<Uuid> = channels.iter().map(ChannelId::as_uuid).collect();
        let rows: Vec<(Uuid, i64)> =
            sqlx::query_as(PIN_COUNTS).bind(ids).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|(c, n)| (ChannelId::from_uuid(c), u32::try_from(n).unwrap_or(u32::MAX))).collect())
    }

    async fn users_named(&mut self, usernames: &[String]) -> Result<Vec<(String, UserId)>> {
        let rows: Vec<(String, Uuid)> =
            sqlx::query_as(USERS_NAMED).bind(usernames).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|(name, id)| (name, UserId::from_uuid(id))).collect())
    }

    async fn find_posts(&mut self, keys: &[PostKey<'_>]) -> Result<Vec<Event>> {
        let channels: Vec<Uuid> = keys.iter().map(|k| k.channel_id.as_uuid()).collect();
        let senders: Vec<Uuid> = keys.iter().map(|k| k.sender_id.as_uuid()).collect();
        let client_msg_ids: Vec<&str> = keys.iter().map(|k| k.client_msg_id).collect();
        sqlx::query_as::<_, EventRow>(FIND_POSTS)
            .bind(channels)
            .bind(senders)
            .bind(client_msg_ids)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    /// Two Sequencers creating the same DM at once (its Create commands carry
    /// different new channel ids, so they may reach different partitions) are
    /// serialised on the key: the second waits for the first to commit, then
    /// finds its channel, instead of failing its whole batch on `dm_key`'s
    /// unique index. The lookup is a statement of its own so that its
    /// snapshot is taken after the lock is held.
    async fn find_dm(&mut self, dm_key: &str) -> Result<Option<ChannelId>> {
        sqlx::query(LOCK_DM).bind(DM_LOCK_SPACE).bind(dm_key).execute(&mut *self.tx).await.map_err(db_err)?;
        let found: Option<(Uuid,)> =
            sqlx::query_as(FIND_DM).bind(dm_key).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
        Ok(found.map(|(id,)| ChannelId::from_uuid(id)))
    }

    /// Two Sequencers creating channels of the same name at once (their
    /// Create commands may reach different partitions) are serialised on the
    /// name, as DMs are on their key: the second waits for the first to
    /// commit, then finds its channel and refuses its own command, instead of
    /// failing its whole batch on the `channels_by_name` index. Locks are
    /// taken before any DM's, so the two kinds cannot wait on each other in a
    /// circle either.
    async fn find_named(&mut self, keys: &[String]) -> Result<Vec<(String, ChannelId)>> {
        sqlx::query(LOCK_NAMES).bind(NAME_LOCK_SPACE).bind(keys).execute(&mut *self.tx).await.map_err(db_err)?;
        let found: Vec<(String, Uuid)> =
            sqlx::query_as(FIND_NAMED).bind(keys).fetch_all(&mut *self.tx).await.map_err(db_err)?;
        Ok(found.into_iter().map(|(key, id)| (key, ChannelId::from_uuid(id))).collect())
    }

    async fn insert_channel(&mut self, channel: &Channel) -> Result<()> {
        sqlx::query(INSERT_CHANNEL)
            .bind(channel.id.as_uuid())
            .bind(channel.kind.as_str())
            .bind(&channel.name)
            .bind(&channel.topic)
            .bind(to_db(channel.created_at)?)
            .bind(channel.created_by.as_uuid())
            .bind(channel.dm_key.as_deref())
            .bind(channel.last_seq)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Changes apply in order, so a pair's state after the batch is what its
    /// last change says: a member with that add's role and time, or none.
    /// Only each pair's last change is sent, which makes one statement of the
    /// whole list whatever its mix of adds and removes.
    async fn change_members(&mut self, changes: &[MemberChange]) -> Result<()> {
        let pair = |change: &MemberChange| match change {
            MemberChange::Add { channel, user, .. }
            | MemberChange::Remove { channel, user }
            | MemberChange::SetRole { channel, user, .. }
            | MemberChange::Ban { channel, user, .. }
            | MemberChange::Unban { channel, user } => (*channel, *user),
        };
        self.change_bans(changes.iter().filter(|c| matches!(c, MemberChange::Ban { .. } | MemberChange::Unban { .. })))
            .await?;
        let joins_and_leaves = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, MemberChange::Add { .. } | MemberChange::Remove { .. }));
        let last: HashMap<(ChannelId, UserId), usize> = joins_and_leaves.map(|(i, c)| (pair(c), i)).collect();
        let mut removed: (Vec<Uuid>, Vec<Uuid>) = Default::default();
        let mut added: (Vec<Uuid>, Vec<Uuid>, Vec<&str>, Vec<DateTime<Utc>>, Vec<Seq>) = Default::default();
        // A role set after the pair's last join or leave, the latest one:
        // set once the joins and leaves are made.
        let mut roles: HashMap<(ChannelId, UserId), &str> = HashMap::new();
        for (i, change) in changes.iter().enumerate() {
            match change {
                MemberChange::SetRole { role, .. } => {
                    if last.get(&pair(change)).is_none_or(|at| *at < i) {
                        roles.insert(pair(change), role.as_str());
                    }
                    continue;
                }
                MemberChange::Ban { .. } | MemberChange::Unban { .. } => continue,
                MemberChange::Add { .. } | MemberChange::Remove { .. } => {}
            }
            if last[&pair(change)] != i {
                continue;
            }
            match change {
                MemberChange::Add { channel, user, role, at, read_through } => {
                    added.0.push(channel.as_uuid());
                    added.1.push(user.as_uuid());
                    added.2.push(role.as_str());
                    added.3.push(to_db(*at)?);
                    added.4.push(*read_through);
                }
                MemberChange::Remove { channel, user } => {
                    removed.0.push(channel.as_uuid());
                    removed.1.push(user.as_uuid());
                }
                MemberChange::SetRole { .. } | MemberChange::Ban { .. } | MemberChange::Unban { .. } => {}
            }
        }
        if removed.0.is_empty() && added.0.is_empty() && roles.is_empty() {
            return Ok(());
        }
        sqlx::query(CHANGE_MEMBERS)
            .bind(removed.0)
            .bind(removed.1)
            .bind(added.0)
            .bind(added.1)
            .bind(added.2)
            .bind(added.3)
            .bind(added.4)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        if !roles.is_empty() {
            let mut set: (Vec<Uuid>, Vec<Uuid>, Vec<&str>) = Default::default();
            for ((channel, user), role) in roles {
                set.0.push(channel.as_uuid());
                set.1.push(user.as_uuid());
                set.2.push(role);
            }
            sqlx::query(SET_ROLES).bind(set.0).bind(set.1).bind(set.2).execute(&mut *self.tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn insert_events(&mut self, events: &[Event]) -> Result<()> {
        let mut columns = EventColumns::with_capacity(events.len());
        for event in events {
            columns.push(event)?;
        }
        sqlx::query(INSERT_EVENTS)
            .bind(columns.channel_id)
            .bind(columns.seq)
            .bind(columns.id)
            .bind(columns.kind)
            .bind(columns.sender_id)
            .bind(columns.created_at)
            .bind(columns.client_msg_id)
            .bind(columns.body)
            .bind(columns.reply_to_seq)
            .bind(columns.user_id)
            .bind(columns.target_seq)
            .bind(columns.emoji)
            .bind(columns.role)
            .bind(columns.mentions)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        let mut indexed = Indexed::default();
        for event in events {
            if let EventKind::Message { body, .. } = &event.kind {
                indexed.push(event, body)?;
            }
        }
        indexed.write(&mut self.tx).await
    }

    /// In order, one statement each: changes to messages are a small part of
    /// the log next to messages themselves.
    async fn change_messages(&mut self, changes: &[MessageChange]) -> Result<()> {
        for change in changes {
            let done = match change {
                MessageChange::Edited { channel, seq, body, mentions, at, by_seq } => {
                    let query = sqlx::query(search::REINDEX)
                        .bind(channel.as_uuid())
                        .bind(seq)
                        .bind(fulltext::has_link(body))
                        .bind(search::tsvector(body));
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    sqlx::query(EDIT)
                        .bind(channel.as_uuid())
                        .bind(seq)
                        .bind(body)
                        .bind(to_db(*at)?)
                        .bind(by_seq)
                        .bind(mentions_column(mentions))
                }
                MessageChange::Mentioned { channel, seq, id, users } => {
                    let query = sqlx::query(DROP_MENTIONS).bind(channel.as_uuid()).bind(seq);
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    let users: Vec<Uuid> = users.iter().map(UserId::as_uuid).collect();
                    sqlx::query(ADD_MENTIONS).bind(users).bind(channel.as_uuid()).bind(seq).bind(id.as_uuid())
                }
                MessageChange::Deleted { channel, seq, by_seq } => {
                    let query = sqlx::query(DELETE_MESSAGE).bind(channel.as_uuid()).bind(seq).bind(by_seq);
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    let query = sqlx::query(EMPTY_EDITS).bind(channel.as_uuid()).bind(seq);
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    let query = sqlx::query(DROP_MENTIONS).bind(channel.as_uuid()).bind(seq);
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    let query = sqlx::query(search::UNINDEX).bind(channel.as_uuid()).bind(seq);
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    sqlx::query(DROP_REACTIONS).bind(channel.as_uuid()).bind(seq)
                }
                MessageChange::Reacted { reaction: r, add } => {
                    let (channel, user) = (r.channel_id.as_uuid(), r.user_id.as_uuid());
                    let query = match add {
                        true => sqlx::query(ADD_REACTION)
                            .bind(channel)
                            .bind(r.seq)
                            .bind(&r.emoji)
                            .bind(user)
                            .bind(r.added_seq),
                        false => sqlx::query(REMOVE_REACTION).bind(channel).bind(r.seq).bind(&r.emoji).bind(user),
                    };
                    query.execute(&mut *self.tx).await.map_err(db_err)?;
                    sqlx::query(CHANGED).bind(channel).bind(r.seq).bind(r.added_seq)
                }
                MessageChange::Pinned { channel, seq, by, at, by_seq } => {
                    let at = match by {
                        Some(_) => Some(to_db(*at)?),
                        None => None,
                    };
                    let by = by.map(|by| by.as_uuid());
                    sqlx::query(PIN).bind(channel.as_uuid()).bind(seq).bind(by).bind(at).bind(by_seq)
                }
                MessageChange::Replied { channel, root, delta, at, by_seq } => {
                    let at = at.map(to_db).transpose()?;
                    sqlx::query(REPLIED).bind(channel.as_uuid()).bind(root).bind(delta).bind(at).bind(by_seq)
                }
            };
            done.execute(&mut *self.tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn set_heads(&mut self, heads: &[ChannelHead]) -> Result<()> {
        let (ids, seqs): (Vec<Uuid>, Vec<Seq>) = heads.iter().map(|h| (h.id.as_uuid(), h.last_seq)).unzip();
        let done = sqlx::query(SET_HEADS).bind(ids).bind(seqs).execute(&mut *self.tx).await.map_err(db_err)?;
        if done.rows_affected() != heads.len() as u64 {
            return Err(Error::internal(format!(
                "set_heads moved {} of {} channel heads: a head is missing or would go back",
                done.rows_affected(),
                heads.len()
            )));
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db_err)
    }
}

/// A batch of events as one array per column of `events`, for `INSERT_EVENTS`.
struct EventColumns<'a> {
    channel_id: Vec<Uuid>,
    seq: Vec<Seq>,
    id: Vec<Uuid>,
    kind: Vec<&'static str>,
    sender_id: Vec<Uuid>,
    created_at: Vec<DateTime<Utc>>,
    client_msg_id: Vec<Option<&'a str>>,
    body: Vec<Option<&'a str>>,
    reply_to_seq: Vec<Option<Seq>>,
    user_id: Vec<Option<Uuid>>,
    target_seq: Vec<Option<Seq>>,
    emoji: Vec<Option<&'a str>>,
    role: Vec<Option<&'static str>>,
    mentions: Vec<Option<String>>,
}

impl<'a> EventColumns<'a> {
    fn with_capacity(n: usize) -> Self {
        EventColumns {
            channel_id: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            sender_id: Vec::with_capacity(n),
            created_at: Vec::with_capacity(n),
            client_msg_id: Vec::with_capacity(n),
            body: Vec::with_capacity(n),
            reply_to_seq: Vec::with_capacity(n),
            user_id: Vec::with_capacity(n),
            target_seq: Vec::with_capacity(n),
            emoji: Vec::with_capacity(n),
            role: Vec::with_capacity(n),
            mentions: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, event: &'a Event) -> Result<()> {
        let columns = event.kind.columns();
        self.channel_id.push(event.channel_id.as_uuid());
        self.seq.push(event.seq);
        self.id.push(event.id.as_uuid());
        self.kind.push(event.kind.type_name());
        self.sender_id.push(event.sender_id.as_uuid());
        self.created_at.push(to_db(event.created_at)?);
        self.client_msg_id.push(columns.client_msg_id);
        self.body.push(columns.body);
        self.reply_to_seq.push(columns.reply_to_seq);
        self.user_id.push(columns.user_id.map(|user| user.as_uuid()));
        self.target_seq.push(columns.target_seq);
        self.emoji.push(columns.emoji);
        self.role.push(columns.role.map(Role::as_str));
        self.mentions.push(columns.mentions);
        Ok(())
    }
}

type ReactionRow = (Uuid, Seq, String, Uuid, Seq);

fn reaction((channel, seq, emoji, user, added_seq): ReactionRow) -> Reaction {
    Reaction { channel_id: ChannelId::from_uuid(channel), seq, emoji, user_id: UserId::from_uuid(user), added_seq }
}
