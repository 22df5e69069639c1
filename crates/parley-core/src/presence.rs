//! Presence, typing, and what only a user's own sessions are told (read
//! markers, preferences), across the nodes of a cluster (Redis).
//! In embedded mode the gateway's hub sees every session and needs none of this.
//!
//! Each node says which users it has online (a first session opened, a last
//! one closed); a user is online while any live node has them. A node that
//! dies stops renewing its claim, and its users go offline within a bound
//! (30 s in production). Notices reach every node, the sender's included.
//!
//! Whose presence a person is shown, in both modes: X's is shown to Y while
//! both are members of a public or private channel, or of a direct channel
//! that X opened or has sent a message in. Opening a DM with someone shows
//! the opener's presence to them, not theirs to the opener, until they write
//! in it. (The gateway leaves out channels too large to carry presence.)

use async_trait::async_trait;

use crate::id::{ChannelId, UserId};
use crate::model::{Preferences, ReadMarker};
use crate::Result;

/// What one node tells the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The user came online (their first session on any node).
    Online(UserId),
    /// The user went offline (their last session closed, or their node died).
    Offline(UserId),
    Typing {
        channel: ChannelId,
        user: UserId,
    },
    /// For the user's own sessions, wherever they are.
    Mine {
        user: UserId,
        what: Mine,
    },
}

/// What only a user's own sessions are told: not events of a channel's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mine {
    /// Their read marker moved.
    Read(ReadMarker),
    /// Their preferences in a channel changed.
    Preferences(ChannelId, Preferences),
    /// These sessions (their token hashes) ended: signed out, revoked,
    /// the password changed, the account deactivated. Their sockets close.
    Ended(Vec<String>),
    /// They blocked `other` (`blocked`), or unblocked them.
    Blocked { other: UserId, blocked: bool },
}

#[async_trait]
pub trait Presence: Send + Sync {
    /// This node now has `user` online (a first local session) or no longer
    /// (the last one closed). A change for the cluster is announced.
    async fn set_online(&self, user: UserId, online: bool) -> Result<()>;
    /// Which of `users` are online on some live node.
    async fn online_among(&self, users: &[UserId]) -> Result<Vec<UserId>>;
    /// Tells every node that `user` is typing in `channel`.
    async fn typing(&self, channel: ChannelId, user: UserId) -> Result<()>;
    /// Tells every node something for `user`'s own sessions.
    async fn mine(&self, user: UserId, what: Mine) -> Result<()>;
    /// Notices from every node, from this call on. Survives a restart of the
    /// backend: notices sent while it is down are lost, and the state is
    /// restored by the nodes' renewals.
    async fn subscribe(&self) -> Result<Box<dyn NoticeStream>>;
}

/// Who is online now, as a gateway knows it (its own sessions, or the
/// cluster's presence): whom a message's `@here` reaches.
#[async_trait]
pub trait Online: Send + Sync {
    /// Which of `users` are online.
    async fn online_among(&self, users: &[UserId]) -> Result<Vec<UserId>>;
}

#[async_trait]
pub trait NoticeStream: Send {
    async fn next(&mut self) -> Result<Notice>;
}
