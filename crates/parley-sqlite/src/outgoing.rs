//! Outgoing webhooks and their delivery state (`OutgoingStore`).

use async_trait::async_trait;
use parley_core::id::{ChannelId, WebhookId};
use parley_core::model::{Delivery, OutgoingHook};
use parley_core::ports::OutgoingStore;
use parley_core::time::Timestamp;
use parley_core::Result;

use crate::error::{db_err, write_err};
use crate::rows::id;
use crate::SqliteStore;

/// The columns of [`OutgoingRow`], unqualified (they also serve `RETURNING`).
macro_rules! outgoing_columns {
    () => {
        "id, channel_id, url, secret, created_by, created_at, delivered_seq, failing_since, last_error, attempts, \
         next_attempt_at"
    };
}

#[derive(sqlx::FromRow)]
struct OutgoingRow {
    id: String,
    channel_id: String,
    url: String,
    secret: String,
    created_by: String,
    created_at: i64,
    delivered_seq: i64,
    failing_since: Option<i64>,
    last_error: Option<String>,
    attempts: i64,
    next_attempt_at: Option<i64>,
}

impl OutgoingRow {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutgoingRow> {
        Ok(OutgoingRow {
            id: row.get(0)?,
            channel_id: row.get(1)?,
            url: row.get(2)?,
            secret: row.get(3)?,
            created_by: row.get(4)?,
            created_at: row.get(5)?,
            delivered_seq: row.get(6)?,
            failing_since: row.get(7)?,
            last_error: row.get(8)?,
            attempts: row.get(9)?,
            next_attempt_at: row.get(10)?,
        })
    }

    fn decode(self) -> Result<OutgoingHook> {
        Ok(OutgoingHook {
            id: id("outgoing hook id", &self.id)?,
            channel_id: id("outgoing hook channel", &self.channel_id)?,
            url: self.url,
            secret: self.secret,
            created_by: id("outgoing hook maker", &self.created_by)?,
            created_at: Timestamp::from_millis(self.created_at),
            delivery: Delivery {
                delivered_seq: self.delivered_seq,
                failing_since: self.failing_since.map(Timestamp::from_millis),
                last_error: self.last_error,
                attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
                next_attempt_at: self.next_attempt_at.map(Timestamp::from_millis),
            },
        })
    }
}

/// The hooks due at `?2` that are free or `?1`'s, leased to `?1` until `?3`.
const LEASE_DUE: &str = concat!(
    "UPDATE outgoing_hooks SET lease_node = ?1, lease_until = ?3 WHERE id IN (",
    "SELECT h.id FROM outgoing_hooks h CROSS JOIN channels c ON c.id = h.channel_id",
    " WHERE c.last_seq > h.delivered_seq AND (h.next_attempt_at IS NULL OR h.next_attempt_at <= ?2)",
    " AND (h.lease_until IS NULL OR h.lease_until < ?2 OR h.lease_node = ?1) LIMIT ?4)",
    " RETURNING ",
    outgoing_columns!()
);

#[async_trait]
impl OutgoingStore for SqliteStore {
    async fn create_outgoing(&self, hook: &OutgoingHook) -> Result<()> {
        let row = (
            hook.id.to_string(),
            hook.channel_id.to_string(),
            hook.url.clone(),
            hook.secret.clone(),
            hook.created_by.to_string(),
            hook.created_at.millis(),
            hook.delivery.delivered_seq,
        );
        self.writer
            .execute(
                "INSERT INTO outgoing_hooks (id, channel_id, url, secret, created_by, created_at, delivered_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                row,
            )
            .await?;
        Ok(())
    }

    async fn outgoing(&self, id: WebhookId) -> Result<Option<OutgoingHook>> {
        sqlx::query_as::<_, OutgoingRow>(concat!("SELECT ", outgoing_columns!(), " FROM outgoing_hooks WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(OutgoingRow::decode)
            .transpose()
    }

    async fn outgoing_of(&self, channel: ChannelId) -> Result<Vec<OutgoingHook>> {
        sqlx::query_as::<_, OutgoingRow>(concat!(
            "SELECT ",
            outgoing_columns!(),
            " FROM outgoing_hooks WHERE channel_id = ?1 ORDER BY created_at DESC, id"
        ))
        .bind(channel.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(OutgoingRow::decode)
        .collect()
    }

    async fn delete_outgoing(&self, id: WebhookId) -> Result<()> {
        self.writer.execute("DELETE FROM outgoing_hooks WHERE id = ?1", [id.to_string()]).await?;
        Ok(())
    }

    async fn lease_due(&self, node: &str, now: Timestamp, until: Timestamp, limit: u32) -> Result<Vec<OutgoingHook>> {
        let params = (node.to_owned(), now.millis(), until.millis(), limit);
        let rows: Vec<OutgoingRow> = self
            .writer
            .run(move |conn| {
                conn.prepare_cached(LEASE_DUE)
                    .and_then(|mut statement| statement.query_map(params, OutgoingRow::from_row)?.collect())
                    .map_err(write_err)
            })
            .await?;
        rows.into_iter().map(OutgoingRow::decode).collect()
    }

    async fn record_delivery(&self, id: WebhookId, node: &str, until: Timestamp, delivery: &Delivery) -> Result<bool> {
        let row = (
            id.to_string(),
            delivery.delivered_seq,
            delivery.failing_since.map(Timestamp::millis),
            delivery.last_error.clone(),
            delivery.attempts,
            delivery.next_attempt_at.map(Timestamp::millis),
            node.to_owned(),
            until.millis(),
        );
        let changed = self
            .writer
            .execute(
                "UPDATE outgoing_hooks SET delivered_seq = ?2, failing_since = ?3, last_error = ?4, attempts = ?5, \
                 next_attempt_at = ?6, lease_until = ?8 WHERE id = ?1 AND lease_node = ?7",
                row,
            )
            .await?;
        Ok(changed > 0)
    }
}
