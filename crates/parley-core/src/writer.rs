//! Who appends a change to its channel's log, chosen once when the server is
//! built: the [`Sequencer`] in this process (embedded mode), or the command
//! log, whose processor runs the same Sequencer elsewhere (cluster mode,
//! [`LogWriter`]). [`Chat`](crate::chat::Chat) hands every change to a
//! [`Writer`] and does not know which one it has.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::apply::{check_post, check_target};
use crate::command::{Appended, Command};
use crate::model::EventKind;
use crate::parse::Seq;
use crate::ports::{CommandLog, Store};
use crate::sequencer::Sequencer;
use crate::stored::{Awaited, StoredWaiters};
use crate::time::Timestamp;
use crate::{Error, Result};

/// Cluster mode: how long a change waits for its stored event before the
/// caller is told (a REST send: 202; a join, leave or new channel:
/// `unavailable`, try again). The command is durable in the log either way.
pub const STORED_WITHIN: Duration = Duration::from_secs(5);

/// When the caller wants its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Once the change is stored; a writer that cannot tell within
    /// [`STORED_WITHIN`] answers [`Written::Accepted`].
    Stored,
    /// As soon as the change cannot be lost (a WebSocket `ack`).
    /// `member_through`: the caller has the channel's events through this
    /// `seq` and the sender was a member as of it, so a writer that checks
    /// before it answers need not read membership from the store.
    Durable { member_through: Option<Seq> },
}

/// What a writer answers.
#[derive(Debug, Clone)]
pub enum Written {
    /// Stored: what the rules of the log appended.
    Stored(Appended),
    /// Durable in the command log; its events follow on the feed.
    Accepted,
}

#[async_trait]
pub trait Writer: Send + Sync {
    /// Appends `command` to its channel's log, answering as `answer` asks.
    /// A command refused by the rules of the log is an error — before the
    /// answer, always: a writer that answers before the rules run checks
    /// first what they would refuse.
    async fn write(&self, command: Command, answer: Answer) -> Result<Written>;
}

/// Embedded mode: the Sequencer answers once the change is stored.
#[async_trait]
impl Writer for Sequencer {
    async fn write(&self, command: Command, _: Answer) -> Result<Written> {
        Ok(Written::Stored(self.submit(command).await?))
    }
}

/// Cluster mode: every change goes to the command log, so that each channel
/// has one writer (the processor of its partition) and its events reach the
/// feed in `seq` order; `stored` learns from the feed when a change is stored.
pub struct LogWriter {
    log: Arc<dyn CommandLog>,
    stored: Arc<StoredWaiters>,
    store: Arc<dyn Store>,
}

impl LogWriter {
    /// `stored` must be resolved with every event of the feed this node reads.
    pub fn new(log: Arc<dyn CommandLog>, stored: Arc<StoredWaiters>, store: Arc<dyn Store>) -> LogWriter {
        LogWriter { log, stored, store }
    }

    /// The processor applies the rules as of the command's place in the log,
    /// after the sender was told `accepted`: what they would refuse as of
    /// now is refused here, at once.
    async fn check(&self, command: &Command, answer: Answer) -> Result<()> {
        let (channel, sender, reply_to_seq, target) = match command {
            Command::Post { channel, sender, reply_to_seq, .. } => (*channel, *sender, *reply_to_seq, None),
            Command::Change { channel, actor, change, .. } => (*channel, *actor, None, change.target()),
            _ => return Ok(()),
        };
        let known_member = match answer {
            Answer::Durable { member_through: Some(through) } => {
                reply_to_seq.is_none_or(|r| r <= through) && target.is_none_or(|t| t <= through)
            }
            _ => false,
        };
        if !known_member {
            let head = self.store.channel(channel).await?.map(|c| c.last_seq);
            let member = head.is_some() && self.store.role(channel, sender).await?.is_some();
            check_post(head, member, reply_to_seq)?;
        }
        // What a change or a reply points at: a message, not deleted, and
        // for an edit, the sender's own.
        let Some(seq) = target.or(reply_to_seq) else { return Ok(()) };
        let message = self.store.events_after(channel, seq - 1, 1).await?.pop().filter(|e| e.seq == seq);
        match message.map(|e| (e.sender_id, e.kind)) {
            Some((author, EventKind::Message { state, .. })) => {
                let change = match command {
                    Command::Change { change, .. } => Some(change),
                    _ => None,
                };
                check_target(change, author, state.deleted, sender)
            }
            _ if reply_to_seq.is_some() => Err(Error::bad_request("reply_to_seq is not a message of this channel")),
            _ => Err(Error::not_found("message not found")),
        }
    }
}

#[async_trait]
impl Writer for LogWriter {
    async fn write(&self, command: Command, answer: Answer) -> Result<Written> {
        self.check(&command, answer).await?;
        let asked = Timestamp::now();
        let waiter = (answer == Answer::Stored).then(|| self.stored.wait(Awaited::of_command(&command)));
        self.log.append(&command).await?;
        let Some(waiter) = waiter else { return Ok(Written::Accepted) };
        Ok(match waiter.within(STORED_WITHIN).await {
            // A retry's event was stored before this call.
            Some(event) => {
                let created = event.created_at >= asked;
                Written::Stored(Appended { channel_id: event.channel_id, events: vec![event], created })
            }
            None => Written::Accepted,
        })
    }
}
