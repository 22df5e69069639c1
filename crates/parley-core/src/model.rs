//! The things Parley stores: users, channels, members, invites and channel events.

use crate::id::{ChannelId, EventId, UserId};
use crate::parse::{Seq, Username};
use crate::time::Timestamp;
use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub created_at: Timestamp,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
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
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`.
    pub unread_count: i64,
}

/// Where a member's read marker stands in a channel, as `my_channels` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMarker {
    pub channel_id: ChannelId,
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`.
    pub unread_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub channel_id: ChannelId,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Message { body: String, client_msg_id: String, reply_to_seq: Option<Seq> },
    MemberJoined { user_id: UserId },
    MemberLeft { user_id: UserId },
}

impl EventKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Message { .. } => "message",
            EventKind::MemberJoined { .. } => "member_joined",
            EventKind::MemberLeft { .. } => "member_left",
        }
    }
}
