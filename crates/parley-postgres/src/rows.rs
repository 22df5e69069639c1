//! Rows decoded into domain types, and timestamps converted both ways. A
//! malformed row is an `internal` error naming what was wrong, never a panic.

use chrono::{DateTime, Utc};
use parley_core::id::{ChannelId, EventId, UserId, WebhookId};
use parley_core::model::{
    mention_count, AuditEntry, Ban, Channel, ChannelKind, Event, Invite, Member, MessageState, MyChannel, Notify,
    Preferences, Role, ServerRole, Session, User, Webhook,
};
use parley_core::parse::{Seq, Username};
use parley_core::row::StoredColumns;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use uuid::Uuid;

fn malformed(what: &str, value: impl std::fmt::Display) -> Error {
    Error::internal(format!("malformed row: {what} {value:?}", value = value.to_string()))
}

/// A core timestamp as a `timestamptz` parameter. Milliseconds fit exactly in
/// PostgreSQL's microseconds, so [`from_db`] gives back the same value.
pub(crate) fn to_db(at: Timestamp) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(at.millis())
        .ok_or_else(|| Error::internal(format!("timestamp {} ms is out of range", at.millis())))
}

pub(crate) fn from_db(at: DateTime<Utc>) -> Timestamp {
    Timestamp::from_millis(at.timestamp_millis())
}

/// The columns of [`UserRow`], from `users u`. Macros rather than consts so
/// that `concat!` makes each query one `&'static str`.
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.display_name, u.created_at, u.role AS server_role, u.deactivated_at, u.bot"
    };
}
pub(crate) use user_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    username: String,
    display_name: String,
    created_at: DateTime<Utc>,
    /// Named apart from a member's role in the rows that hold both.
    #[sqlx(rename = "server_role")]
    role: String,
    deactivated_at: Option<DateTime<Utc>>,
    bot: bool,
}

impl UserRow {
    pub(crate) fn decode(self) -> Result<User> {
        Ok(User {
            id: UserId::from_uuid(self.id),
            username: Username::parse(&self.username).map_err(|_| malformed("username", &self.username))?,
            display_name: self.display_name,
            created_at: from_db(self.created_at),
            role: ServerRole::from_db(&self.role).ok_or_else(|| malformed("server role", &self.role))?,
            deactivated_at: self.deactivated_at.map(from_db),
            bot: self.bot,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

impl CredentialsRow {
    pub(crate) fn decode(self) -> Result<(User, String)> {
        Ok((self.user.decode()?, self.password_hash))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    role: String,
    joined_at: DateTime<Utc>,
}

impl MemberRow {
    pub(crate) fn decode(self) -> Result<Member> {
        Ok(Member { user: self.user.decode()?, role: role(&self.role)?, joined_at: from_db(self.joined_at) })
    }
}

pub(crate) fn role(text: &str) -> Result<Role> {
    Role::from_db(text).ok_or_else(|| malformed("role", text))
}

/// The columns of [`ChannelRow`], from `channels c`; `member_count` is counted, not stored.
macro_rules! channel_columns {
    () => {
        "c.id, c.kind, c.name, c.topic, c.created_at, c.created_by, c.dm_key, c.last_seq, c.archived_at, \
         (SELECT count(*) FROM members x WHERE x.channel_id = c.id) AS member_count"
    };
}
pub(crate) use channel_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: Uuid,
    kind: String,
    name: String,
    topic: String,
    created_at: DateTime<Utc>,
    created_by: Uuid,
    dm_key: Option<String>,
    last_seq: i64,
    archived_at: Option<DateTime<Utc>>,
    member_count: i64,
}

impl ChannelRow {
    pub(crate) fn decode(self) -> Result<Channel> {
        Ok(Channel {
            id: ChannelId::from_uuid(self.id),
            kind: ChannelKind::from_db(&self.kind).ok_or_else(|| malformed("channel kind", &self.kind))?,
            name: self.name,
            topic: self.topic,
            created_at: from_db(self.created_at),
            created_by: UserId::from_uuid(self.created_by),
            dm_key: self.dm_key,
            last_seq: self.last_seq,
            member_count: self.member_count,
            archived_at: self.archived_at.map(from_db),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MyChannelRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    role: String,
    notify: Option<String>,
    muted: bool,
    last_read_seq: i64,
    unread_count: i64,
    mentioned: i64,
}

impl MyChannelRow {
    pub(crate) fn decode(self) -> Result<MyChannel> {
        let channel = self.channel.decode()?;
        let mention_count = mention_count(channel.kind, self.unread_count, self.mentioned);
        let preferences = preferences(channel.kind.as_str(), self.notify.as_deref(), self.muted)?;
        Ok(MyChannel {
            channel,
            role: role(&self.role)?,
            preferences,
            last_read_seq: self.last_read_seq,
            unread_count: self.unread_count,
            mention_count,
        })
    }
}

/// The columns of [`InviteRow`], unqualified (they also serve `RETURNING`).
macro_rules! invite_columns {
    () => {
        "code, channel_id, created_by, created_at, expires_at, max_uses, uses"
    };
}
pub(crate) use invite_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    code: String,
    channel_id: Option<Uuid>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    max_uses: Option<i64>,
    uses: i64,
}

impl InviteRow {
    pub(crate) fn decode(self) -> Result<Invite> {
        let count = |what: &str, n: i64| u32::try_from(n).map_err(|_| malformed(what, n));
        Ok(Invite {
            channel_id: self.channel_id.map(ChannelId::from_uuid),
            created_by: UserId::from_uuid(self.created_by),
            created_at: from_db(self.created_at),
            expires_at: self.expires_at.map(from_db),
            max_uses: self.max_uses.map(|n| count("invite max_uses", n)).transpose()?,
            uses: count("invite uses", self.uses)?,
            code: self.code,
        })
    }
}

/// The columns of [`EventRow`], from `events e`.
macro_rules! event_columns {
    () => {
        "e.channel_id, e.seq, e.id, e.type, e.sender_id, e.created_at, e.client_msg_id, e.body, e.reply_to_seq, \
         e.user_id, e.target_seq, e.emoji, e.role, e.edited_at, e.deleted, e.pinned_at, e.reply_count, e.last_reply_at, \
         e.changed_seq, e.mentions"
    };
}
pub(crate) use event_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    channel_id: Uuid,
    seq: Seq,
    id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    sender_id: Uuid,
    created_at: DateTime<Utc>,
    client_msg_id: Option<String>,
    body: Option<String>,
    reply_to_seq: Option<Seq>,
    user_id: Option<Uuid>,
    target_seq: Option<Seq>,
    emoji: Option<String>,
    role: Option<String>,
    edited_at: Option<DateTime<Utc>>,
    deleted: bool,
    pinned_at: Option<DateTime<Utc>>,
    reply_count: i32,
    last_reply_at: Option<DateTime<Utc>>,
    changed_seq: Seq,
    mentions: Option<String>,
}

impl EventRow {
    pub(crate) fn decode(self) -> Result<Event> {
        let reply_count = u32::try_from(self.reply_count).map_err(|_| malformed("reply_count", self.reply_count))?;
        let columns = StoredColumns {
            client_msg_id: self.client_msg_id,
            body: self.body,
            reply_to_seq: self.reply_to_seq,
            user_id: self.user_id.map(UserId::from_uuid),
            target_seq: self.target_seq,
            emoji: self.emoji,
            role: self.role,
            mentions: self.mentions,
            state: MessageState {
                edited_at: self.edited_at.map(from_db),
                deleted: self.deleted,
                pinned: self.pinned_at.is_some(),
                reply_count,
                last_reply_at: self.last_reply_at.map(from_db),
                reactions: Vec::new(),
                changed_seq: self.changed_seq,
            },
        };
        let kind = columns.into_kind(&self.kind)?;
        Ok(Event {
            channel_id: ChannelId::from_uuid(self.channel_id),
            seq: self.seq,
            id: EventId::from_uuid(self.id),
            sender_id: UserId::from_uuid(self.sender_id),
            created_at: from_db(self.created_at),
            kind,
        })
    }
}

/// A member's preferences in a channel of `kind`, as stored (`notify` NULL until chosen).
pub(crate) fn preferences(kind: &str, notify: Option<&str>, muted: bool) -> Result<Preferences> {
    let kind = ChannelKind::from_db(kind).ok_or_else(|| malformed("channel kind", kind))?;
    let notify = notify.map(|n| Notify::from_db(n).ok_or_else(|| malformed("notify", n))).transpose()?;
    Ok(Preferences::stored(kind, notify, muted))
}

/// The columns of [`SessionRow`], from `sessions s`, named apart from a user's.
macro_rules! session_columns {
    () => {
        "s.token_hash, s.user_id, s.created_at AS session_created_at, s.expires_at, s.last_seen_at, s.user_agent"
    };
}
pub(crate) use session_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    token_hash: String,
    user_id: Uuid,
    #[sqlx(rename = "session_created_at")]
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
    user_agent: Option<String>,
}

impl SessionRow {
    pub(crate) fn decode(self) -> Session {
        Session {
            user_id: UserId::from_uuid(self.user_id),
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            last_seen_at: from_db(self.last_seen_at.unwrap_or(self.created_at)),
            user_agent: self.user_agent,
            token_hash: self.token_hash,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    #[sqlx(flatten)]
    session: SessionRow,
}

impl SessionUserRow {
    pub(crate) fn decode(self) -> Result<(User, Session)> {
        Ok((self.user.decode()?, self.session.decode()))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Uuid,
    action: String,
    user_id: Option<Uuid>,
    channel_id: Option<Uuid>,
    detail: String,
}

impl AuditRow {
    pub(crate) fn decode(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            at: from_db(self.at),
            actor_id: UserId::from_uuid(self.actor_id),
            action: self.action,
            user_id: self.user_id.map(UserId::from_uuid),
            channel_id: self.channel_id.map(ChannelId::from_uuid),
            detail: self.detail,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BanRow {
    #[sqlx(flatten)]
    user: UserRow,
    banned_by: Uuid,
    banned_at: DateTime<Utc>,
}

impl BanRow {
    pub(crate) fn decode(self) -> Result<Ban> {
        Ok(Ban { user: self.user.decode()?, by: UserId::from_uuid(self.banned_by), at: from_db(self.banned_at) })
    }
}

/// The columns of [`HookRow`], unqualified.
macro_rules! hook_columns {
    () => {
        "id, token_hash, channel_id, bot_id, name, created_by, created_at"
    };
}
pub(crate) use hook_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct HookRow {
    id: Uuid,
    token_hash: String,
    channel_id: Uuid,
    bot_id: Uuid,
    name: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
}

impl HookRow {
    pub(crate) fn decode(self) -> Webhook {
        Webhook {
            id: WebhookId::from_uuid(self.id),
            token_hash: self.token_hash,
            channel_id: ChannelId::from_uuid(self.channel_id),
            bot_id: UserId::from_uuid(self.bot_id),
            name: self.name,
            created_by: UserId::from_uuid(self.created_by),
            created_at: from_db(self.created_at),
        }
    }
}
