//! The changes a channel's log takes ([`Command`]) and what each did: the
//! words shared by the writers (the Sequencer, a cluster's command log and
//! processor) and the stores, with no behaviour of their own. The rules that
//! apply them are in [`crate::apply`].

use crate::emoji::Emoji;
use crate::id::{ChannelId, EventId, UserId};
use crate::model::{Channel, Event, Role};
use crate::parse::{Body, ChannelName, ClientMsgId, Seq, Topic};
use crate::time::Timestamp;
use crate::Result;

/// A change to a channel's log.
#[derive(Debug, Clone)]
pub enum Command {
    Post {
        channel: ChannelId,
        sender: UserId,
        client_msg_id: ClientMsgId,
        body: Body,
        reply_to_seq: Option<Seq>,
        /// Whom the body's `@channel` or `@here` reaches, found by the
        /// gateway ([`Chat`](crate::chat::Chat)): the writer tells those
        /// still members.
        broadcast: Vec<UserId>,
    },
    /// `user` joins as a member; `actor` is who made it happen.
    Join {
        channel: ChannelId,
        user: UserId,
        actor: UserId,
    },
    Leave {
        channel: ChannelId,
        user: UserId,
        actor: UserId,
    },
    /// A new channel with its first members, each with a `member_joined` event.
    /// A channel with a `dm_key` that already exists is returned instead, and
    /// so is this very channel when it exists (the command came again). A
    /// name another channel has is refused, `conflict`.
    Create {
        channel: Channel,
        members: Vec<(UserId, Role)>,
    },
    /// A member's change to a message of the channel, or to a member's role;
    /// `client_msg_id` makes its retry harmless.
    Change {
        channel: ChannelId,
        actor: UserId,
        client_msg_id: ClientMsgId,
        change: Change,
        /// The actor is an admin of the server (as [`Chat`](crate::chat::Chat)
        /// found when it made the command): they moderate any channel, a
        /// member of it or not.
        server_admin: bool,
    },
}

/// What a [`Command::Change`] changes; the rules are in [`crate::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The author's new body; `broadcast` as for a [`Command::Post`].
    Edit {
        target: Seq,
        body: Body,
        broadcast: Vec<UserId>,
    },
    /// By the author, or a channel's owner or admin (not in a DM).
    Delete {
        target: Seq,
    },
    /// Adds (`add`) or removes the actor's reaction.
    React {
        target: Seq,
        emoji: Emoji,
        add: bool,
    },
    /// Pins (`pin`) or unpins; unpinning another's pin takes an owner or admin.
    Pin {
        target: Seq,
        pin: bool,
    },
    /// The owner makes a member `admin` or `member`.
    SetRole {
        user: UserId,
        role: Role,
    },
    /// The channel's owner or admins, or a server admin: a new name, unique
    /// as a new channel's.
    Rename {
        name: ChannelName,
    },
    SetTopic {
        topic: Topic,
    },
    /// Read-only (`archived`), or writable again.
    Archive {
        archived: bool,
    },
    /// Removes a member: the owner anyone but themself, an admin the plain
    /// members, a server admin anyone but the owner.
    Remove {
        user: UserId,
    },
    /// Bans (`banned`, removing them if a member) or unbans `user`, with the
    /// permissions of [`Change::Remove`].
    Ban {
        user: UserId,
        banned: bool,
    },
    /// Deletes the channel: a server admin only.
    DeleteChannel,
}

impl Change {
    /// The message it changes.
    pub fn target(&self) -> Option<Seq> {
        match self {
            Change::Edit { target, .. }
            | Change::Delete { target }
            | Change::React { target, .. }
            | Change::Pin { target, .. } => Some(*target),
            Change::SetRole { .. }
            | Change::Rename { .. }
            | Change::SetTopic { .. }
            | Change::Archive { .. }
            | Change::Remove { .. }
            | Change::Ban { .. }
            | Change::DeleteChannel => None,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub channel_id: ChannelId,
    /// The events the command appended, or for a retried message the event
    /// first stored for it.
    pub events: Vec<Event>,
    /// False when nothing new was stored: a retry, a join of a member, an existing DM.
    pub created: bool,
}

/// What one batch did: a result per command, in order, and the events it stored.
#[derive(Debug)]
pub struct Applied {
    pub results: Vec<Result<Appended>>,
    pub events: Vec<Event>,
}

/// The time and ids a replayed command's events are stored under
/// ([`apply_stamped`](crate::apply::apply_stamped)), as they were when first
/// stored: `parley import`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: Timestamp,
    /// One per event the command appends, in order; events past the end
    /// get new ones.
    pub ids: Vec<EventId>,
}
