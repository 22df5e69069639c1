//! Reads of everything, a page at a time, for `parley export` (`ExportStore`).

use async_trait::async_trait;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, Notify, User};
use parley_core::parse::Seq;
use parley_core::ports::{ExportStore, ExportedMember};
use parley_core::{Error, Result};

use crate::error::db_err;
use crate::rows::{channel_columns, user_columns, ChannelRow, CredentialsRow, MemberRow};
use crate::SqliteStore;

#[derive(sqlx::FromRow)]
struct ExportMemberRow {
    #[sqlx(flatten)]
    member: MemberRow,
    last_read_seq: i64,
    notify: Option<String>,
    muted: i64,
}

#[derive(sqlx::FromRow)]
struct ToldRow {
    seq: i64,
    user_id: String,
}

#[async_trait]
impl ExportStore for SqliteStore {
    async fn export_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<(User, String)>> {
        sqlx::query_as::<_, CredentialsRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.id > ?1 ORDER BY u.id LIMIT ?2"
        ))
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(CredentialsRow::decode)
        .collect()
    }

    async fn export_channels(&self, after: Option<ChannelId>, limit: u32) -> Result<Vec<Channel>> {
        sqlx::query_as::<_, ChannelRow>(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels c WHERE c.id > ?1 AND c.deleted_at IS NULL ORDER BY c.id LIMIT ?2"
        ))
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(ChannelRow::decode)
        .collect()
    }

    async fn export_members(&self, channel: ChannelId) -> Result<Vec<ExportedMember>> {
        sqlx::query_as::<_, ExportMemberRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", m.role, m.joined_at, m.last_read_seq, m.notify, m.muted FROM members m CROSS JOIN users u ON u.id = m.user_id",
            " WHERE m.channel_id = ?1 ORDER BY u.id"
        ))
        .bind(channel.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| {
            let notify = match row.notify.as_deref() {
                Some(n) => Some(Notify::from_db(n).ok_or_else(|| Error::internal(format!("malformed notify {n:?}")))?),
                None => None,
            };
            let muted = row.muted != 0;
            Ok(ExportedMember { member: row.member.decode()?, last_read_seq: row.last_read_seq, notify, muted })
        })
        .collect()
    }

    async fn export_told(&self, channel: ChannelId) -> Result<Vec<(Seq, UserId)>> {
        sqlx::query_as::<_, ToldRow>("SELECT seq, user_id FROM mentions WHERE channel_id = ?1 ORDER BY seq, user_id")
            .bind(channel.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|row| Ok((row.seq, row.user_id.parse()?)))
            .collect()
    }
}
