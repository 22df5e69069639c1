//! Rows decoded into domain types. A malformed row is an `internal` error naming what was wrong, never a panic.

use std::str::FromStr;

use parley_core::model::{
    mention_count, AuditEntry, Ban, Channel, ChannelKind, Event, Invite, Member, MessageState, MyChannel, Notify,
    Preferences, Role, ServerRole, Session, User, Webhook,
};
use parley_core::parse::Username;
use parley_core::row::StoredColumns;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};

fn malformed(what: &str, value: impl std::fmt::Display) -> Error {
    Error::internal(format!("malformed row: {what} {value:?}", value = value.to_string()))
}

/// Parses one of the id newtypes stored as hyphenated UUID text.
pub(crate) fn id<T: FromStr>(what: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| malformed(what, text))
}

/// An id bound as its hyphenated text, encoded on the stack: the writer binds
/// several per message, and a `String` each was an allocation each.
pub(crate) struct IdText([u8; 36]);

impl IdText {
    pub(crate) fn of(uuid: uuid::Uuid) -> IdText {
        let mut text = [0; 36];
        uuid.hyphenated().encode_lower(&mut text);
        IdText(text)
    }
}

impl rusqlite::ToSql for IdText {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(&self.0)))
    }
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
    id: String,
    username: String,
    display_name: String,
    created_at: i64,
    /// Named apart from a member's role in the rows that hold both.
    #[sqlx(rename = "server_role")]
    role: String,
    deactivated_at: Option<i64>,
    bot: bool,
}

impl UserRow {
    pub(crate) fn decode(self) -> Result<User> {
        Ok(User {
            id: id("user id", &self.id)?,
            username: Username::parse(&self.username).map_err(|_| malformed("username", &self.username))?,
            display_name: self.display_name,
            created_at: Timestamp::from_millis(self.created_at),
            role: ServerRole::from_db(&self.role).ok_or_else(|| malformed("server role", &self.role))?,
            deactivated_at: self.deactivated_at.map(Timestamp::from_millis),
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
    joined_at: i64,
}

impl MemberRow {
    pub(crate) fn decode(self) -> Result<Member> {
        Ok(Member {
            user: self.user.decode()?,
            role: role(&self.role)?,
            joined_at: Timestamp::from_millis(self.joined_at),
        })
    }
}

pub(crate) fn role(text: &str) -> Result<Role> {
    Role::from_db(text).ok_or_else(|| malformed("role", text))
}

/// The columns of [`ChannelRow`], from `channels c`; `member_count` is counted, not stored.
macro_rules! channel_columns {
    () => {
        "c.id, c.kind, c.name, c.topic, c.created_at, c.created_by, c.dm_key, c.last_seq, c.archived_at, \
         (SELECT COUNT(*) FROM members x WHERE x.channel_id = c.id) AS member_count"
    };
}
pub(crate) use channel_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: String,
    kind: String,
    name: String,
    topic: String,
    created_at: i64,
    created_by: String,
    dm_key: Option<String>,
    last_seq: i64,
    archived_at: Option<i64>,
    member_count: i64,
}

impl ChannelRow {
    pub(crate) fn decode(self) -> Result<Channel> {
        Ok(Channel {
            id: id("channel id", &self.id)?,
            kind: ChannelKind::from_db(&self.kind).ok_or_else(|| malformed("channel kind", &self.kind))?,
            name: self.name,
            topic: self.topic,
            created_at: Timestamp::from_millis(self.created_at),
            created_by: id("channel creator", &self.created_by)?,
            dm_key: self.dm_key,
            last_seq: self.last_seq,
            member_count: self.member_count,
            archived_at: self.archived_at.map(Timestamp::from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MyChannelRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    role: String,
    notify: Option<String>,
    muted: i64,
    last_read_seq: i64,
    unread_count: i64,
    mentioned: i64,
}

impl MyChannelRow {
    pub(crate) fn decode(self) -> Result<MyChannel> {
        let channel = self.channel.decode()?;
        let channel_kind = channel.kind;
        let preferences = preferences(channel.kind.as_str(), self.notify.as_deref(), self.muted != 0)?;
        Ok(MyChannel {
            channel,
            role: role(&self.role)?,
            preferences,
            last_read_seq: self.last_read_seq,
            unread_count: self.unread_count,
            mention_count: mention_count(channel_kind, self.unread_count, self.mentioned),
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
    channel_id: Option<String>,
    created_by: String,
    created_at: i64,
    expires_at: Option<i64>,
    max_uses: Option<i64>,
    uses: i64,
}

impl InviteRow {
    /// The writer's row of [`invite_columns!`], in that order.
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InviteRow> {
        Ok(InviteRow {
            code: row.get(0)?,
            channel_id: row.get(1)?,
            created_by: row.get(2)?,
            created_at: row.get(3)?,
            expires_at: row.get(4)?,
            max_uses: row.get(5)?,
            uses: row.get(6)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Invite> {
        let count = |what: &str, n: i64| u32::try_from(n).map_err(|_| malformed(what, n));
        Ok(Invite {
            channel_id: self.channel_id.as_deref().map(|c| id("invite channel", c)).transpose()?,
            created_by: id("invite creator", &self.created_by)?,
            created_at: Timestamp::from_millis(self.created_at),
            expires_at: self.expires_at.map(Timestamp::from_millis),
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
    channel_id: String,
    seq: i64,
    id: String,
    #[sqlx(rename = "type")]
    kind: String,
    sender_id: String,
    created_at: i64,
    client_msg_id: Option<String>,
    body: Option<String>,
    reply_to_seq: Option<i64>,
    user_id: Option<String>,
    target_seq: Option<i64>,
    emoji: Option<String>,
    role: Option<String>,
    edited_at: Option<i64>,
    deleted: i64,
    pinned_at: Option<i64>,
    reply_count: i64,
    last_reply_at: Option<i64>,
    changed_seq: i64,
    mentions: Option<String>,
}

impl EventRow {
    /// The writer's row of [`event_columns!`], in that order.
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
        Ok(EventRow {
            channel_id: row.get(0)?,
            seq: row.get(1)?,
            id: row.get(2)?,
            kind: row.get(3)?,
            sender_id: row.get(4)?,
            created_at: row.get(5)?,
            client_msg_id: row.get(6)?,
            body: row.get(7)?,
            reply_to_seq: row.get(8)?,
            user_id: row.get(9)?,
            target_seq: row.get(10)?,
            emoji: row.get(11)?,
            role: row.get(12)?,
            edited_at: row.get(13)?,
            deleted: row.get(14)?,
            pinned_at: row.get(15)?,
            reply_count: row.get(16)?,
            last_reply_at: row.get(17)?,
            changed_seq: row.get(18)?,
            mentions: row.get(19)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Event> {
        let reply_count = u32::try_from(self.reply_count).map_err(|_| malformed("reply_count", self.reply_count))?;
        let columns = StoredColumns {
            client_msg_id: self.client_msg_id,
            body: self.body,
            reply_to_seq: self.reply_to_seq,
            user_id: self.user_id.as_deref().map(|user| id("event user", user)).transpose()?,
            target_seq: self.target_seq,
            emoji: self.emoji,
            role: self.role,
            mentions: self.mentions,
            state: MessageState {
                edited_at: self.edited_at.map(Timestamp::from_millis),
                deleted: self.deleted != 0,
                pinned: self.pinned_at.is_some(),
                reply_count,
                last_reply_at: self.last_reply_at.map(Timestamp::from_millis),
                reactions: Vec::new(),
                changed_seq: self.changed_seq,
            },
        };
        let kind = columns.into_kind(&self.kind)?;
        Ok(Event {
            channel_id: id("event channel", &self.channel_id)?,
            seq: self.seq,
            id: id("event id", &self.id)?,
            sender_id: id("event sender", &self.sender_id)?,
            created_at: Timestamp::from_millis(self.created_at),
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
    user_id: String,
    #[sqlx(rename = "session_created_at")]
    created_at: i64,
    expires_at: i64,
    last_seen_at: Option<i64>,
    user_agent: Option<String>,
}

impl SessionRow {
    pub(crate) fn decode(self) -> Result<Session> {
        Ok(Session {
            user_id: id("session user", &self.user_id)?,
            created_at: Timestamp::from_millis(self.created_at),
            expires_at: Timestamp::from_millis(self.expires_at),
            last_seen_at: Timestamp::from_millis(self.last_seen_at.unwrap_or(self.created_at)),
            user_agent: self.user_agent,
            token_hash: self.token_hash,
        })
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
        Ok((self.user.decode()?, self.session.decode()?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: i64,
    actor_id: String,
    action: String,
    user_id: Option<String>,
    channel_id: Option<String>,
    detail: String,
}

impl AuditRow {
    pub(crate) fn decode(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: self.id,
            at: Timestamp::from_millis(self.at),
            actor_id: id("audit actor", &self.actor_id)?,
            action: self.action,
            user_id: self.user_id.as_deref().map(|u| id("audit user", u)).transpose()?,
            channel_id: self.channel_id.as_deref().map(|c| id("audit channel", c)).transpose()?,
            detail: self.detail,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BanRow {
    #[sqlx(flatten)]
    user: UserRow,
    banned_by: String,
    banned_at: i64,
}

impl BanRow {
    pub(crate) fn decode(self) -> Result<Ban> {
        Ok(Ban {
            user: self.user.decode()?,
            by: id("banned by", &self.banned_by)?,
            at: Timestamp::from_millis(self.banned_at),
        })
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
    id: String,
    token_hash: String,
    channel_id: String,
    bot_id: String,
    name: String,
    created_by: String,
    created_at: i64,
}

impl HookRow {
    pub(crate) fn decode(self) -> Result<Webhook> {
        Ok(Webhook {
            id: id("webhook id", &self.id)?,
            token_hash: self.token_hash,
            channel_id: id("webhook channel", &self.channel_id)?,
            bot_id: id("webhook bot", &self.bot_id)?,
            name: self.name,
            created_by: id("webhook maker", &self.created_by)?,
            created_at: Timestamp::from_millis(self.created_at),
        })
    }
}
