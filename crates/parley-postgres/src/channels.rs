//! Channels as their members and visitors see them (`ChannelStore`); the Sequencer writes them, in `events`.

use async_trait::async_trait;
use parley_core::directory::DirectoryPage;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{name_key, Ban, Channel, Member, MyChannel, Notify, Preferences, ReadMarker, Role};
use parley_core::parse::Seq;
use parley_core::ports::ChannelStore;
use parley_core::Result;
use uuid::Uuid;

use crate::error::db_err;
use crate::rows::{channel_columns, preferences, role, user_columns, BanRow, ChannelRow, MemberRow, MyChannelRow};
use crate::PostgresStore;

/// My memberships with their channels, read markers and counts, chosen by
/// `$where`, the latest active first.
macro_rules! my_channels {
    ($where:literal) => {
        concat!(
            "SELECT ",
            channel_columns!(),
            ", m.role, m.notify, m.muted, m.last_read_seq,",
            " (SELECT count(*) FROM events e WHERE e.channel_id = c.id AND e.seq > m.last_read_seq",
            " AND e.type = 'message' AND NOT e.deleted AND e.sender_id <> m.user_id) AS unread_count,",
            " (SELECT count(*) FROM mentions n WHERE n.user_id = m.user_id AND n.channel_id = c.id",
            " AND n.seq > m.last_read_seq) AS mentioned",
            " FROM members m JOIN channels c ON c.id = m.channel_id",
            $where,
            " ORDER BY coalesce((SELECT e.created_at FROM events e WHERE e.channel_id = c.id AND e.seq = c.last_seq),",
            " c.created_at) DESC, c.id"
        )
    };
}
pub(crate) const MY_CHANNELS: &str = my_channels!(" WHERE m.user_id = $1");
pub(crate) const MY_CHANNEL: &str = my_channels!(" WHERE m.user_id = $1 AND m.channel_id = $2");
/// `$1`: names after this; `$2`: a `LIKE` pattern of the name's ASCII lower
/// case (`lower` folds only ASCII under "C"); `$3`: how many. A range of the
/// partial `channels_public_by_name` index, in its order.
pub(crate) const PUBLIC_CHANNELS: &str = concat!(
    "SELECT ",
    channel_columns!(),
    " FROM channels c WHERE c.kind = 'public' AND c.name > $1 AND lower(c.name) LIKE $2 ESCAPE '\\'",
    " AND c.archived_at IS NULL AND c.deleted_at IS NULL",
    " ORDER BY c.name, c.id LIMIT $3"
);
/// The admins' list: every channel but DMs, by name.
pub(crate) const EVERY_CHANNEL: &str = concat!(
    "SELECT ",
    channel_columns!(),
    " FROM channels c WHERE c.kind <> 'direct' AND c.name > $1 AND lower(c.name) LIKE $2 ESCAPE '\\'",
    " AND c.deleted_at IS NULL ORDER BY c.name, c.id LIMIT $3"
);
pub(crate) const DM: &str = concat!("SELECT ", channel_columns!(), " FROM channels c WHERE c.dm_key = $1");
/// `$1`: a name key. The expression and the kind are those of the
/// `channels_by_name` index, which is what lets it serve.
pub(crate) const NAMED: &str = concat!(
    "SELECT ",
    channel_columns!(),
    " FROM channels c WHERE lower(c.name) = $1 AND c.kind <> 'direct' AND c.deleted_at IS NULL"
);
pub(crate) const BANS: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", b.banned_by, b.banned_at FROM bans b JOIN users u ON u.id = b.user_id",
    " WHERE b.channel_id = $1 ORDER BY b.banned_at DESC, u.username"
);
pub(crate) const MEMBERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", m.role, m.joined_at FROM members m JOIN users u ON u.id = m.user_id",
    " WHERE m.channel_id = $1 ORDER BY m.joined_at, u.username"
);
/// Whether `o.user_id` has sent a message in `o.channel_id`: one probe of
/// the dedupe index, which holds every message and nothing else.
macro_rules! has_written {
    () => {
        "EXISTS (SELECT 1 FROM events e WHERE e.channel_id = o.channel_id AND e.sender_id = o.user_id \
         AND e.client_msg_id IS NOT NULL)"
    };
}
/// `$1`: the user. Their DMs' members (`o`) who opened the DM or wrote in it.
pub(crate) const DM_SHOWN: &str = concat!(
    "SELECT o.channel_id, o.user_id FROM members m JOIN channels c ON c.id = m.channel_id",
    " JOIN members o ON o.channel_id = m.channel_id",
    " WHERE m.user_id = $1 AND c.kind = 'direct' AND (o.user_id = c.created_by OR ",
    has_written!(),
    ")"
);
/// `$1`: the user, `$2`: the most members a channel may have. A channel is
/// left out when it has a member past the first `$2`: a count that stops there.
pub(crate) const PRESENCE_PEERS: &str = concat!(
    "SELECT DISTINCT o.user_id FROM members m JOIN channels c ON c.id = m.channel_id",
    " JOIN members o ON o.channel_id = m.channel_id",
    " WHERE m.user_id = $1 AND o.user_id <> $1",
    " AND NOT EXISTS (SELECT 1 FROM members x WHERE x.channel_id = c.id LIMIT 1 OFFSET $2)",
    " AND (c.kind <> 'direct' OR o.user_id = c.created_by OR ",
    has_written!(),
    ")"
);

#[async_trait]
impl ChannelStore for PostgresStore {
    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>> {
        sqlx::query_as::<_, ChannelRow>(concat!(
            "SELECT ",
            channel_columns!(),
            " FROM channels c WHERE c.id = $1 AND c.deleted_at IS NULL"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(ChannelRow::decode)
        .transpose()
    }

    async fn dm(&self, dm_key: &str) -> Result<Option<Channel>> {
        sqlx::query_as::<_, ChannelRow>(DM)
            .bind(dm_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(ChannelRow::decode)
            .transpose()
    }

    async fn channel_named(&self, name: &str) -> Result<Option<Channel>> {
        if name.contains('\0') {
            return Ok(None);
        }
        sqlx::query_as::<_, ChannelRow>(NAMED)
            .bind(name_key(name))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(ChannelRow::decode)
            .transpose()
    }

    async fn role(&self, channel: ChannelId, user: UserId) -> Result<Option<Role>> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT role FROM members WHERE channel_id = $1 AND user_id = $2")
                .bind(channel.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        found.map(|(text,)| role(&text)).transpose()
    }

    /// Most recent activity first: the time of the channel's newest event (a
    /// point lookup on the events key), or its creation while it has none;
    /// ties by id so the order is stable.
    ///
    /// `unread_count` walks the events key from the read marker to the head,
    /// so it costs what is unread, not what the channel holds.
    async fn my_channels(&self, user: UserId) -> Result<Vec<MyChannel>> {
        sqlx::query_as::<_, MyChannelRow>(MY_CHANNELS)
            .bind(user.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(MyChannelRow::decode)
            .collect()
    }

    async fn my_channel(&self, user: UserId, channel: ChannelId) -> Result<Option<MyChannel>> {
        sqlx::query_as::<_, MyChannelRow>(MY_CHANNEL)
            .bind(user.as_uuid())
            .bind(channel.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(MyChannelRow::decode)
            .transpose()
    }

    async fn directory(&self, page: &DirectoryPage, limit: u32) -> Result<Vec<Channel>> {
        sqlx::query_as::<_, ChannelRow>(if page.every() { EVERY_CHANNEL } else { PUBLIC_CHANNELS })
            .bind(page.after())
            .bind(page.name_pattern())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(ChannelRow::decode)
            .collect()
    }

    async fn bans(&self, channel: ChannelId) -> Result<Vec<Ban>> {
        sqlx::query_as::<_, BanRow>(BANS)
            .bind(channel.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(BanRow::decode)
            .collect()
    }

    /// In the order they joined; people who joined in the same instant (the
    /// members of a new DM) by username.
    async fn members(&self, channel: ChannelId) -> Result<Vec<Member>> {
        sqlx::query_as::<_, MemberRow>(MEMBERS)
            .bind(channel.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(MemberRow::decode)
            .collect()
    }

    async fn dm_shown(&self, user: UserId) -> Result<Vec<(ChannelId, UserId)>> {
        let rows: Vec<(Uuid, Uuid)> =
            sqlx::query_as(DM_SHOWN).bind(user.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(channel, person)| (ChannelId::from_uuid(channel), UserId::from_uuid(person)))
            .collect())
    }

    async fn presence_peers(&self, user: UserId, max_members: u32) -> Result<Vec<UserId>> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(PRESENCE_PEERS)
            .bind(user.as_uuid())
            .bind(i64::from(max_members))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(person,)| UserId::from_uuid(person)).collect())
    }

    /// Only raises: a marker already there writes nothing and returns no
    /// row, nor does a user who is not a member. Two raises at once wait for
    /// each other on the row, and the second, seeing the first's marker,
    /// moves it only if it goes further. The count is `my_channels`'.
    async fn mark_read(&self, channel: ChannelId, user: UserId, seq: Seq) -> Result<Option<ReadMarker>> {
        let moved: Option<(i64, i64, String)> = sqlx::query_as(concat!(
            "UPDATE members SET last_read_seq = $3 WHERE channel_id = $1 AND user_id = $2 AND last_read_seq < $3",
            " RETURNING (SELECT count(*) FROM events e WHERE e.channel_id = $1 AND e.seq > $3",
            " AND e.type = 'message' AND NOT e.deleted AND e.sender_id <> $2),",
            " (SELECT count(*) FROM mentions n WHERE n.user_id = $2 AND n.channel_id = $1 AND n.seq > $3),",
            " (SELECT c.kind FROM channels c WHERE c.id = $1)"
        ))
        .bind(channel.as_uuid())
        .bind(user.as_uuid())
        .bind(seq)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        moved.map(|(unread, mentioned, kind)| ReadMarker::counted(channel, seq, unread, mentioned, &kind)).transpose()
    }

    async fn set_preferences(
        &self,
        channel: ChannelId,
        user: UserId,
        notify: Option<Notify>,
        muted: Option<bool>,
    ) -> Result<Option<Preferences>> {
        let changed: Option<(String, Option<String>, bool)> = sqlx::query_as(concat!(
            "UPDATE members SET notify = coalesce($3, notify), muted = coalesce($4, muted)",
            " WHERE channel_id = $1 AND user_id = $2",
            " RETURNING (SELECT kind FROM channels WHERE id = $1), notify, muted"
        ))
        .bind(channel.as_uuid())
        .bind(user.as_uuid())
        .bind(notify.map(Notify::as_str))
        .bind(muted)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        changed.map(|(kind, notify, muted)| preferences(&kind, notify.as_deref(), muted)).transpose()
    }
}
