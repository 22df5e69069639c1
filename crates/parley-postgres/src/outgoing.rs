//! Outgoing webhooks and their delivery state (`OutgoingStore`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parley_core::id::{ChannelId, UserId, WebhookId};
use parley_core::model::{Delivery, OutgoingHook};
use parley_core::ports::OutgoingStore;
use parley_core::time::Timestamp;
use parley_core::Result;
use uuid::Uuid;

use crate::error::db_err;
use crate::rows::{from_db, to_db};
use crate::PostgresStore;

/// The columns of [`OutgoingRow`], unqualified (they also serve `RETURNING`).
macro_rules! outgoing_columns {
    () => {
        "id, channel_id, url, secret, created_by, created_at, delivered_seq, failing_since, last_error, attempts, \
         next_attempt_at"
    };
}

#[derive(sqlx::FromRow)]
struct OutgoingRow {
    id: Uuid,
    channel_id: Uuid,
    url: String,
    secret: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    delivered_seq: i64,
    failing_since: Option<DateTime<Utc>>,
    last_error: Option<String>,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
}

impl OutgoingRow {
    fn decode(self) -> OutgoingHook {
        OutgoingHook {
            id: WebhookId::from_uuid(self.id),
            channel_id: ChannelId::from_uuid(self.channel_id),
            url: self.url,
            secret: self.secret,
            created_by: UserId::from_uuid(self.created_by),
            created_at: from_db(self.created_at),
            delivery: Delivery {
                delivered_seq: self.delivered_seq,
                failing_since: self.failing_since.map(from_db),
                last_error: self.last_error,
                attempts: u32::try_from(self.attempts).unwrap_or(0),
                next_attempt_at: self.next_attempt_at.map(from_db),
            },
        }
    }
}

/// The hooks due at `$2` that are free or `$1`'s, leased to `$1` until `$3`.
/// `SKIP LOCKED`: two nodes asking at once each take other hooks.
const LEASE_DUE: &str = concat!(
    "UPDATE outgoing_hooks o SET lease_node = $1, lease_until = $3 WHERE o.id IN (",
    "SELECT h.id FROM outgoing_hooks h JOIN channels c ON c.id = h.channel_id",
    " WHERE c.last_seq > h.delivered_seq AND (h.next_attempt_at IS NULL OR h.next_attempt_at <= $2)",
    " AND (h.lease_until IS NULL OR h.lease_until < $2 OR h.lease_node = $1) LIMIT $4 FOR UPDATE OF h SKIP LOCKED)",
    " RETURNING ",
    outgoing_columns!()
);

#[async_trait]
impl OutgoingStore for PostgresStore {
    async fn create_outgoing(&self, hook: &OutgoingHook) -> Result<()> {
        sqlx::query(
            "INSERT INTO outgoing_hooks (id, channel_id, url, secret, created_by, created_at, delivered_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hook.id.as_uuid())
        .bind(hook.channel_id.as_uuid())
        .bind(&hook.url)
        .bind(&hook.secret)
        .bind(hook.created_by.as_uuid())
        .bind(to_db(hook.created_at)?)
        .bind(hook.delivery.delivered_seq)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn outgoing(&self, id: WebhookId) -> Result<Option<OutgoingHook>> {
        let row = sqlx::query_as::<_, OutgoingRow>(concat!(
            "SELECT ",
            outgoing_columns!(),
            " FROM outgoing_hooks WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(OutgoingRow::decode))
    }

    async fn outgoing_of(&self, channel: ChannelId) -> Result<Vec<OutgoingHook>> {
        let rows = sqlx::query_as::<_, OutgoingRow>(concat!(
            "SELECT ",
            outgoing_columns!(),
            " FROM outgoing_hooks WHERE channel_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(channel.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(OutgoingRow::decode).collect())
    }

    async fn delete_outgoing(&self, id: WebhookId) -> Result<()> {
        sqlx::query("DELETE FROM outgoing_hooks WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn lease_due(&self, node: &str, now: Timestamp, until: Timestamp, limit: u32) -> Result<Vec<OutgoingHook>> {
        let rows = sqlx::query_as::<_, OutgoingRow>(LEASE_DUE)
            .bind(node)
            .bind(to_db(now)?)
            .bind(to_db(until)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(OutgoingRow::decode).collect())
    }

    async fn record_delivery(&self, id: WebhookId, node: &str, until: Timestamp, delivery: &Delivery) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outgoing_hooks SET delivered_seq = $2, failing_since = $3, last_error = $4, attempts = $5, \
             next_attempt_at = $6, lease_until = $8 WHERE id = $1 AND lease_node = $7",
        )
        .bind(id.as_uuid())
        .bind(delivery.delivered_seq)
        .bind(delivery.failing_since.map(to_db).transpose()?)
        .bind(delivery.last_error.as_deref())
        .bind(i32::try_from(delivery.attempts).unwrap_or(i32::MAX))
        .bind(delivery.next_attempt_at.map(to_db).transpose()?)
        .bind(node)
        .bind(to_db(until)?)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
