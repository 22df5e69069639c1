//! The changes a channel's log takes ([`Command`]) and what each did: the
//! words shared by the writers (the Sequencer, a cluster's command log and
//! processor) and the stores, with no behaviour of their own. The rules that
//! apply them are in [`crate::apply`].

use crate::id::{ChannelId, UserId};
use crate::model::{Channel, Event, Role};
use crate::parse::{Body, ClientMsgId, Seq};
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
