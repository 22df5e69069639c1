//! What the hub hands a session: frames serialised once and shared by every
//! recipient, and the session's link — its bounded queue, and how to close it.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Event, EventKind};
use parley_core::parse::Seq;
use parley_protocol::ServerFrame;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::gateway::close::CloseCode;

/// A frame serialised once, shared by every recipient.
#[derive(Clone)]
pub struct Frame {
    pub kind: &'static str,
    pub text: Utf8Bytes,
}

impl Frame {
    pub fn new(frame: &ServerFrame) -> Frame {
        Frame { kind: frame.type_name(), text: Utf8Bytes::from(frame.to_json()) }
    }
}

/// A stored event on its way to sessions.
pub struct EventFrame {
    pub channel: ChannelId,
    pub seq: Seq,
    pub sender: UserId,
    pub created_at_ms: i64,
    /// `(user, joined)` for `member_joined`, and for what takes a member
    /// away (`member_left`, `member_removed`, `member_banned`).
    pub membership: Option<(UserId, bool)>,
    /// `channel_deleted`: every session following the channel stops.
    pub closes: bool,
    pub frame: Frame,
}

impl EventFrame {
    pub fn new(event: &Event) -> EventFrame {
        let membership = match (&event.kind, event.kind.member_gone()) {
            (EventKind::MemberJoined { user_id }, _) => Some((*user_id, true)),
            (_, Some(user)) => Some((user, false)),
            _ => None,
        };
        EventFrame {
            channel: event.channel_id,
            seq: event.seq,
            sender: event.sender_id,
            created_at_ms: event.created_at.millis(),
            membership,
            closes: matches!(event.kind, EventKind::ChannelDeleted { .. }),
            frame: Frame::new(&ServerFrame::Event { event: event.into() }),
        }
    }

    /// A membership change or the channel's end: an event the hub offers
    /// on its own, never in a run of messages.
    pub fn changes_who_follows(&self) -> bool {
        self.membership.is_some() || self.closes
    }
}

/// What a session's queue holds: a pointer either way, so that the queue's
/// first block (32 slots, allocated with the queue) stays small.
pub enum Delivery {
    Event(Arc<EventFrame>),
    Frame(Arc<Frame>),
}

/// The hub's handle on one session: its queue and how to close it.
pub struct SessionLink {
    pub id: u64,
    pub user: UserId,
    pub token_hash: String,
    queue: mpsc::Sender<Delivery>,
    close_code: AtomicU16,
    pub closed: CancellationToken,
}

impl SessionLink {
    pub(super) fn new(id: u64, user: UserId, token_hash: String, queue: mpsc::Sender<Delivery>) -> SessionLink {
        SessionLink { id, user, token_hash, queue, close_code: AtomicU16::new(0), closed: CancellationToken::new() }
    }

    /// Asks the session to close with `code`; the first code asked wins.
    pub fn close(&self, code: CloseCode) {
        let _ = self.close_code.compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire);
        self.closed.cancel();
    }

    pub fn close_code(&self) -> CloseCode {
        CloseCode::from_code(self.close_code.load(Ordering::Acquire)).unwrap_or(CloseCode::GoingAway)
    }

    pub(super) fn offer(&self, delivery: Delivery) {
        if self.queue.try_send(delivery).is_err() && !self.closed.is_cancelled() {
            tracing::info!(session = self.id, user = %self.user, "session too slow: closing with 1008");
            self.close(CloseCode::Overflow);
        }
    }
}
