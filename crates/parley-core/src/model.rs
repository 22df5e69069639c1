//! The things Parley stores: users, channels, members, invites and channel events.

use crate::id::{ChannelId, EventId, UserId, WebhookId};
use crate::parse::{Seq, Username};
use crate::time::Timestamp;
use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub created_at: Timestamp,
    /// What they may do on the server as a whole.
    pub role: ServerRole,
    /// When an admin deactivated them: they cannot sign in, their messages stay.
    pub deactivated_at: Option<Timestamp>,
    /// A bot: made by an admin (or by an incoming webhook), no password,
    /// signs in with API tokens.
    pub bot: bool,
}

impl User {
    /// A new member of the server, not yet stored.
    pub fn new(username: Username, display_name: String) -> User {
        User {
            id: UserId::generate(),
            username,
            display_name,
            created_at: Timestamp::now(),
            role: ServerRole::Member,
            deactivated_at: None,
            bot: false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == ServerRole::Admin && self.deactivated_at.is_none()
    }
}

/// A user's role on the server: its admins run it (users, sign-up, every
/// channel); the first account of a fresh server is its admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerRole {
    Admin,
    Member,
}

impl ServerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerRole::Admin => "admin",
            ServerRole::Member => "member",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(ServerRole::Admin),
            "member" => Some(ServerRole::Member),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> crate::Result<Self> {
        ServerRole::from_db(s).ok_or_else(|| Error::bad_request("role must be admin or member"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Public,
    Private,
    Direct,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Private => "private",
            ChannelKind::Direct => "direct",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "public" => Some(ChannelKind::Public),
            "private" => Some(ChannelKind::Private),
            "direct" => Some(ChannelKind::Direct),
            _ => None,
        }
    }
}

/// What of a channel's messages I want to be told of (a browser
/// notification) when I am not looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    All,
    Mentions,
    Nothing,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::All => "all",
            Notify::Mentions => "mentions",
            Notify::Nothing => "none",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Notify::All),
            "mentions" => Some(Notify::Mentions),
            "none" => Some(Notify::Nothing),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> crate::Result<Self> {
        Notify::from_db(s).ok_or_else(|| crate::Error::bad_request("notify must be all, mentions or none"))
    }

    /// Until I choose: every message of a DM, mentions elsewhere.
    pub fn default_for(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Direct => Notify::All,
            _ => Notify::Mentions,
        }
    }
}

/// My preferences in one channel: what to be told of, and whether it is
/// muted (no unread badge, no notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub notify: Notify,
    pub muted: bool,
}

impl Preferences {
    /// As stored: `notify` `None` until I choose one.
    pub fn stored(kind: ChannelKind, notify: Option<Notify>, muted: bool) -> Preferences {
        Preferences { notify: notify.unwrap_or(Notify::default_for(kind)), muted }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Who made the channel.
    Owner,
    /// Made so by the owner: may delete anyone's message and unpin anything.
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// May act on other members' messages (delete, unpin).
    pub fn moderates(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    pub topic: String,
    pub created_at: Timestamp,
    pub created_by: UserId,
    /// For direct channels: the sorted member ids joined, which makes a DM
    /// of the same people the same channel.
    pub dm_key: Option<String>,
    pub last_seq: Seq,
    pub member_count: i64,
    /// When its owner or an admin archived it: read-only, out of the
    /// directory, still searchable by its members.
    pub archived_at: Option<Timestamp>,
}

impl Channel {
    /// Its [`name_key`]; `None` for a DM, which has no name.
    pub fn name_key(&self) -> Option<String> {
        (self.kind != ChannelKind::Direct).then(|| name_key(&self.name))
    }
}

/// What no two channels, public or private, may share: the name with its
/// ASCII letters in lower case (names are trimmed when parsed), so "General"
/// takes "general" too. Each store's unique index folds case the same way.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The answer to creating a channel under a name another channel has.
pub fn name_taken(name: &str) -> Error {
    Error::conflict(format!("a channel named \"{name}\" already exists"))
}

/// A channel as one of its members sees it in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyChannel {
    pub channel: Channel,
    /// My role in it.
    pub role: Role,
    pub preferences: Preferences,
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`, not deleted.
    pub unread_count: i64,
    /// Of those, the ones that mention me ([`mention_count`]).
    pub mention_count: i64,
}

/// Where a member's read marker stands in a channel, as `my_channels` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMarker {
    pub channel_id: ChannelId,
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`, not deleted.
    pub unread_count: i64,
    /// Of those, the ones that mention me ([`mention_count`]).
    pub mention_count: i64,
}

/// My unread mentions in a channel of `kind`, from my unread messages and
/// the stored mentions of me after my read marker: in a DM every message is
/// for me, so each counts.
pub fn mention_count(kind: ChannelKind, unread: i64, mentioned: i64) -> i64 {
    match kind {
        ChannelKind::Direct => unread,
        _ => mentioned,
    }
}

impl ReadMarker {
    /// The marker a store read back after moving it: `unread` messages and
    /// `mentioned` stored mentions of me after `last_read_seq`, in a channel
    /// of `kind` as stored (a malformed kind is `internal`).
    pub fn counted(
        channel_id: ChannelId,
        last_read_seq: Seq,
        unread: i64,
        mentioned: i64,
        kind: &str,
    ) -> Result<Self, Error> {
        let kind =
            ChannelKind::from_db(kind).ok_or_else(|| Error::internal(format!("malformed row: kind {kind:?}")))?;
        let mention_count = mention_count(kind, unread, mentioned);
        Ok(ReadMarker { channel_id, last_read_seq, unread_count: unread, mention_count })
    }
}

/// Someone banned from a channel, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub user: User,
    pub by: UserId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Timestamp,
}

/// A link that lets whoever has it in: into a channel, or, with no channel,
/// onto the server (a join link, made by an admin, for invite-only sign-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub channel_id: Option<ChannelId>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub max_uses: Option<u32>,
    pub uses: u32,
}

impl Invite {
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| now < at) && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// A session: who holds a token. Only the token's hash is ever stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it was last used, to within [`Session::SEEN_EVERY_SECONDS`].
    pub last_seen_at: Timestamp,
    /// The `User-Agent` it was opened with, cut to [`Session::MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
}

impl Session {
    /// `last_seen_at` is written again only when older than this: a request
    /// costs no write.
    pub const SEEN_EVERY_SECONDS: i64 = 300;
    pub const MAX_USER_AGENT: usize = 256;

    /// What names it to its holder (listing, revoking): the first 16 hex
    /// digits of its token's hash, which can never be turned back into the token.
    pub fn public_id(&self) -> &str {
        self.token_hash.get(..16).unwrap_or(&self.token_hash)
    }
}

/// A password reset an admin made for a user (there is no e-mail): one use,
/// for an hour. Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl PasswordReset {
    pub const SECONDS: i64 = 3600;
}

/// An incoming webhook: a secret URL that posts into one channel as its bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    /// The SHA-256 of the secret in its URL.
    pub token_hash: String,
    pub channel_id: ChannelId,
    pub bot_id: UserId,
    pub name: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// An outgoing webhook: each new message of a channel POSTed to `url`, in
/// `seq` order, at least once, signed with `secret`; and where its
/// delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingHook {
    pub id: WebhookId,
    pub channel_id: ChannelId,
    pub url: String,
    /// The key of its HMAC-SHA256 signatures; shown to its maker once.
    pub secret: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub delivery: Delivery,
}

/// Where an outgoing webhook's delivery stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Every event up to this `seq` is delivered (or given up on).
    pub delivered_seq: Seq,
    /// Since when the next event has failed, while it does.
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// Failed tries of the next event.
    pub attempts: u32,
    /// Not before then.
    pub next_attempt_at: Option<Timestamp>,
}

/// One entry of the server's audit log: an admin's or a moderator's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Given by the store, increasing; 0 before it is stored.
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: UserId,
    /// What was done, `area.verb` (`user.deactivate`).
    pub action: String,
    /// The user it was done to, if any.
    pub user_id: Option<UserId>,
    /// The channel it was done in or to, if any.
    pub channel_id: Option<ChannelId>,
    /// The rest, a JSON object as text.
    pub detail: String,
}

/// One entry of a channel's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub channel_id: ChannelId,
    pub seq: Seq,
    pub id: EventId,
    pub sender_id: UserId,
    pub created_at: Timestamp,
    pub kind: EventKind,
}

/// What an event says. A change to a message is an event of its own,
/// pointing at the message by `target_seq`; every change a client makes
/// carries its `client_msg_id`, so that a retry stores nothing twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `body` and `state` as they are now, after every later change
    /// (an empty body once deleted); a thread's replies point at its root.
    Message {
        body: String,
        client_msg_id: String,
        reply_to_seq: Option<Seq>,
        /// As its current body has them.
        mentions: Mentions,
        state: MessageState,
    },
    MemberJoined {
        user_id: UserId,
    },
    MemberLeft {
        user_id: UserId,
    },
    /// `body` is emptied when the message is deleted later; `mentions` are
    /// the new body's.
    MessageEdited {
        target_seq: Seq,
        body: String,
        mentions: Mentions,
        client_msg_id: String,
    },
    MessageDeleted {
        target_seq: Seq,
        client_msg_id: String,
    },
    ReactionAdded {
        target_seq: Seq,
        emoji: String,
        client_msg_id: String,
    },
    ReactionRemoved {
        target_seq: Seq,
        emoji: String,
        client_msg_id: String,
    },
    MessagePinned {
        target_seq: Seq,
        client_msg_id: String,
    },
    MessageUnpinned {
        target_seq: Seq,
        client_msg_id: String,
    },
    MemberRoleChanged {
        user_id: UserId,
        role: Role,
        client_msg_id: String,
    },
    /// The channel's new name, by its owner or an admin (the sender).
    ChannelRenamed {
        name: String,
        client_msg_id: String,
    },
    TopicChanged {
        topic: String,
        client_msg_id: String,
    },
    /// Read-only from here: no message, change or join until it is unarchived.
    ChannelArchived {
        client_msg_id: String,
    },
    ChannelUnarchived {
        client_msg_id: String,
    },
    /// `user_id` was removed by the sender (the channel's owner or an
    /// admin, or a server admin).
    MemberRemoved {
        user_id: UserId,
        client_msg_id: String,
    },
    /// `user_id` may not join again (by invite or from the directory) until
    /// unbanned; a member is removed by it.
    MemberBanned {
        user_id: UserId,
        client_msg_id: String,
    },
    MemberUnbanned {
        user_id: UserId,
        client_msg_id: String,
    },
    /// The last event of a channel: a server admin deleted it.
    ChannelDeleted {
        client_msg_id: String,
    },
}

impl EventKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Message { .. } => "message",
            EventKind::MemberJoined { .. } => "member_joined",
            EventKind::MemberLeft { .. } => "member_left",
            EventKind::MessageEdited { .. } => "message_edited",
            EventKind::MessageDeleted { .. } => "message_deleted",
            EventKind::ReactionAdded { .. } => "reaction_added",
            EventKind::ReactionRemoved { .. } => "reaction_removed",
            EventKind::MessagePinned { .. } => "message_pinned",
            EventKind::MessageUnpinned { .. } => "message_unpinned",
            EventKind::MemberRoleChanged { .. } => "member_role_changed",
            EventKind::ChannelRenamed { .. } => "channel_renamed",
            EventKind::TopicChanged { .. } => "topic_changed",
            EventKind::ChannelArchived { .. } => "channel_archived",
            EventKind::ChannelUnarchived { .. } => "channel_unarchived",
            EventKind::MemberRemoved { .. } => "member_removed",
            EventKind::MemberBanned { .. } => "member_banned",
            EventKind::MemberUnbanned { .. } => "member_unbanned",
            EventKind::ChannelDeleted { .. } => "channel_deleted",
        }
    }

    /// The key that makes a retry of the change that stored this event
    /// harmless: every event a client's change stores has one.
    pub fn client_msg_id(&self) -> Option<&str> {
        match self {
            EventKind::Message { client_msg_id, .. }
            | EventKind::MessageEdited { client_msg_id, .. }
            | EventKind::MessageDeleted { client_msg_id, .. }
            | EventKind::ReactionAdded { client_msg_id, .. }
            | EventKind::ReactionRemoved { client_msg_id, .. }
            | EventKind::MessagePinned { client_msg_id, .. }
            | EventKind::MessageUnpinned { client_msg_id, .. }
            | EventKind::MemberRoleChanged { client_msg_id, .. }
            | EventKind::ChannelRenamed { client_msg_id, .. }
            | EventKind::TopicChanged { client_msg_id, .. }
            | EventKind::ChannelArchived { client_msg_id }
            | EventKind::ChannelUnarchived { client_msg_id }
            | EventKind::MemberRemoved { client_msg_id, .. }
            | EventKind::MemberBanned { client_msg_id, .. }
            | EventKind::MemberUnbanned { client_msg_id, .. }
            | EventKind::ChannelDeleted { client_msg_id } => Some(client_msg_id),
            EventKind::MemberJoined { .. } | EventKind::MemberLeft { .. } => None,
        }
    }

    /// Who leaves the channel's members with this event: who left, was
    /// removed or was banned.
    pub fn member_gone(&self) -> Option<UserId> {
        match self {
            EventKind::MemberLeft { user_id }
            | EventKind::MemberRemoved { user_id, .. }
            | EventKind::MemberBanned { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    /// The message a change points at.
    pub fn target_seq(&self) -> Option<Seq> {
        match self {
            EventKind::MessageEdited { target_seq, .. }
            | EventKind::MessageDeleted { target_seq, .. }
            | EventKind::ReactionAdded { target_seq, .. }
            | EventKind::ReactionRemoved { target_seq, .. }
            | EventKind::MessagePinned { target_seq, .. }
            | EventKind::MessageUnpinned { target_seq, .. } => Some(*target_seq),
            _ => None,
        }
    }
}

/// Whom a message's text mentions (see [`crate::mentions`]): the members it
/// names, and whether it says `@channel` or `@here`. Who is told is decided
/// when the message is stored: a name that is not a member's mentions nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// The members named, in the order they first appear.
    pub users: Vec<UserId>,
    pub channel: bool,
    pub here: bool,
}

impl Mentions {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && !self.channel && !self.here
    }
}

/// What became of a message since it was posted, served with it so that a
/// client paging history need not fold the log. The default is a message
/// nothing has changed yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageState {
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    pub pinned: bool,
    /// Replies in its thread (those not deleted), when it is a thread's root.
    pub reply_count: u32,
    pub last_reply_at: Option<Timestamp>,
    /// Each emoji on it, in the order they were first added.
    pub reactions: Vec<Reactions>,
    /// The `seq` of the last change this state includes (0: none): a client
    /// that holds it applies only change events after it.
    pub changed_seq: Seq,
}

/// One emoji on a message: how many reacted with it, whether the reader did
/// (`None` where the reader is not known: live delivery to everyone), and
/// the first [`Reactions::USERS_SHOWN`] who did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reactions {
    pub emoji: String,
    pub count: u32,
    pub me: Option<bool>,
    pub users: Vec<UserId>,
}

impl Reactions {
    /// Enough to say "Ann, Bo and 8 others" without serving every name.
    pub const USERS_SHOWN: usize = 10;
}
