//! Channel logs: history reads (`EventLog`) and the Sequencer's write transaction (`LogTx`).
//!
//! The Sequencer asks for a whole batch at once — up to thousands of keys —
//! and sqlx-sqlite pays a round trip to its worker thread per statement, so
//! each `LogTx` method is ONE statement whatever the batch size: the keys go
//! in as one JSON array parameter, unpacked by `json_each` and `->>`. Every
//! join is a `CROSS JOIN` with `json_each` on the left, which SQLite takes as
//! the outer loop, so each key costs one primary-key (or dedupe-index) probe.

use async_trait::async_trait;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, Event, EventKind};
use parley_core::parse::Seq;
use parley_core::ports::{ChannelHead, EventLog, LogTx, MemberChange, PostKey};
use parley_core::Result;
use serde_json::{json, Value};
use sqlx::{Sqlite, Transaction};

use crate::error::{db_err, json_err};
use crate::rows::{event_columns, id, EventRow};
use crate::SqliteStore;

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
/// `?1`: `["channel id", …]`
pub(crate) const HEADS: &str = "SELECT c.id, c.last_seq FROM json_each(?1) j CROSS JOIN channels c ON c.id = j.value";
/// `?1`: `[["channel id", "user id"], …]`
pub(crate) const MEMBERSHIPS: &str = "SELECT m.channel_id, m.user_id FROM json_each(?1) j CROSS JOIN members m \
     ON m.channel_id = j.value->>0 AND m.user_id = j.value->>1";
/// `?1`: `[["channel id", "sender id", "client_msg_id"], …]`. `e.client_msg_id = …`
/// implies NOT NULL, which is what lets the partial dedupe index serve.
pub(crate) const FIND_POSTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM json_each(?1) j CROSS JOIN events e",
    " ON e.channel_id = j.value->>0 AND e.sender_id = j.value->>1 AND e.client_msg_id = j.value->>2"
);
/// `?1`: `[["channel id", "user id", "role", joined_at], …]`
pub(crate) const ADD_MEMBERS: &str = "INSERT INTO members (channel_id, user_id, role, joined_at) \
     SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3 FROM json_each(?1) j";
/// `?1`: `[["channel id", "user id"], …]`
pub(crate) const REMOVE_MEMBERS: &str = "DELETE FROM members WHERE (channel_id, user_id) IN \
     (SELECT j.value->>0, j.value->>1 FROM json_each(?1) j)";
/// `?1`: an array of [`EventJsonRow`].
pub(crate) const INSERT_EVENTS: &str = "INSERT INTO events (channel_id, seq, id, type, sender_id, created_at, \
     client_msg_id, body, reply_to_seq, user_id) SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, \
     j.value->>4, j.value->>5, j.value->>6, j.value->>7, j.value->>8, j.value->>9 FROM json_each(?1) j";
/// `?1`: `[["channel id", last_seq], …]`
pub(crate) const SET_HEADS: &str =
    "UPDATE channels SET last_seq = j.value->>1 FROM json_each(?1) j WHERE channels.id = j.value->>0";

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

    async fn begin(&self) -> Result<Box<dyn LogTx>> {
        // A plain (deferred) BEGIN is enough: the write pool's single
        // connection is the only writer, so no other writer can slip in
        // between this transaction's first read and its first write.
        let tx = self.write.begin().await.map_err(db_err)?;
        Ok(Box::new(SqliteLogTx { tx }))
    }
}

/// The Sequencer's transaction. It holds the writer connection until commit;
/// dropped without commit, sqlx rolls it back.
struct SqliteLogTx {
    tx: Transaction<'static, Sqlite>,
}

impl SqliteLogTx {
    /// Runs `sql` with the whole batch `rows` as its one JSON parameter.
    async fn execute_batch<T: serde::Serialize>(&mut self, sql: &str, rows: &[T]) -> Result<()> {
        sqlx::query(sql)
            .bind(serde_json::to_string(rows).map_err(json_err)?)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// An event as a JSON array in the column order of `insert_events`. A tuple
/// serializes straight to an array, with no intermediate `Value`.
type EventJsonRow<'a> =
    (String, Seq, String, &'static str, String, i64, Option<&'a str>, Option<&'a str>, Option<Seq>, Option<String>);

fn event_json_row(event: &Event) -> EventJsonRow<'_> {
    let (client_msg_id, body, reply_to_seq, user_id) = match &event.kind {
        EventKind::Message { body, client_msg_id, reply_to_seq } => {
            (Some(client_msg_id.as_str()), Some(body.as_str()), *reply_to_seq, None)
        }
        EventKind::MemberJoined { user_id } | EventKind::MemberLeft { user_id } => {
            (None, None, None, Some(user_id.to_string()))
        }
    };
    (
        event.channel_id.to_string(),
        event.seq,
        event.id.to_string(),
        event.kind.type_name(),
        event.sender_id.to_string(),
        event.created_at.millis(),
        client_msg_id,
        body,
        reply_to_seq,
        user_id,
    )
}

#[async_trait]
impl LogTx for SqliteLogTx {
    async fn heads(&mut self, channels: &[ChannelId]) -> Result<Vec<ChannelHead>> {
        let keys: Vec<String> = channels.iter().map(ChannelId::to_string).collect();
        let rows: Vec<(String, i64)> = sqlx::query_as(HEADS)
            .bind(serde_json::to_string(&keys).map_err(json_err)?)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(|(channel, last_seq)| Ok(ChannelHead { id: id("channel id", &channel)?, last_seq }))
            .collect()
    }

    async fn memberships(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>> {
        let keys: Vec<[String; 2]> = pairs.iter().map(|(c, u)| [c.to_string(), u.to_string()]).collect();
        let rows: Vec<(String, String)> = sqlx::query_as(MEMBERSHIPS)
            .bind(serde_json::to_string(&keys).map_err(json_err)?)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(|(c, u)| Ok((id("member channel", &c)?, id("member user", &u)?))).collect()
    }

    async fn find_posts(&mut self, keys: &[PostKey]) -> Result<Vec<Event>> {
        let keys: Vec<(String, String, &str)> = keys
            .iter()
            .map(|k| (k.channel_id.to_string(), k.sender_id.to_string(), k.client_msg_id.as_str()))
            .collect();
        sqlx::query_as::<_, EventRow>(FIND_POSTS)
            .bind(serde_json::to_string(&keys).map_err(json_err)?)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn find_dm(&mut self, dm_key: &str) -> Result<Option<ChannelId>> {
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM channels WHERE dm_key = ?1")
            .bind(dm_key)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_err)?;
        found.map(|(channel,)| id("channel id", &channel)).transpose()
    }

    async fn insert_channel(&mut self, channel: &Channel) -> Result<()> {
        sqlx::query(
            "INSERT INTO channels (id, kind, name, topic, created_at, created_by, dm_key, last_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(channel.id.to_string())
        .bind(channel.kind.as_str())
        .bind(&channel.name)
        .bind(&channel.topic)
        .bind(channel.created_at.millis())
        .bind(channel.created_by.to_string())
        .bind(channel.dm_key.as_deref())
        .bind(channel.last_seq)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Applied in runs: each run of consecutive adds (or removes) is one
    /// statement, which keeps the order that matters — an add and a later
    /// remove of the same pair fall in different runs.
    async fn change_members(&mut self, changes: &[MemberChange]) -> Result<()> {
        let mut rest = changes;
        while let Some(first) = rest.first() {
            let adding = matches!(first, MemberChange::Add { .. });
            let len = rest.iter().take_while(|c| matches!(c, MemberChange::Add { .. }) == adding).count();
            let (run, tail) = rest.split_at(len);
            rest = tail;
            let rows: Vec<Value> = run
                .iter()
                .map(|change| match change {
                    MemberChange::Add { channel, user, role, at } => {
                        json!([channel.to_string(), user.to_string(), role.as_str(), at.millis()])
                    }
                    MemberChange::Remove { channel, user } => json!([channel.to_string(), user.to_string()]),
                })
                .collect();
            self.execute_batch(if adding { ADD_MEMBERS } else { REMOVE_MEMBERS }, &rows).await?;
        }
        Ok(())
    }

    async fn insert_events(&mut self, events: &[Event]) -> Result<()> {
        let rows: Vec<_> = events.iter().map(event_json_row).collect();
        self.execute_batch(INSERT_EVENTS, &rows).await
    }

    async fn set_heads(&mut self, heads: &[ChannelHead]) -> Result<()> {
        let rows: Vec<(String, Seq)> = heads.iter().map(|h| (h.id.to_string(), h.last_seq)).collect();
        self.execute_batch(SET_HEADS, &rows).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db_err)
    }
}
