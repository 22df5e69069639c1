//! Cluster mode: a gateway that put a command in the command log waits, a
//! bounded while, for the event it stored to come back on the feed — a REST
//! send for its message, a join or a leave for its membership event, a new
//! channel for its creator's `member_joined`. One waiter per pending command,
//! keyed by what its event will say; the hub's dispatcher resolves them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::command::Command;
use crate::id::{ChannelId, UserId};
use crate::model::{Event, EventKind};

/// What a waiter waits for: the event that will say it happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Awaited {
    /// The message, or other change a client made, `(channel, sender,
    /// client_msg_id)`, stored.
    Keyed(ChannelId, UserId, String),
    /// `user` joined `channel`.
    Joined(ChannelId, UserId),
    /// `user` left `channel`.
    Left(ChannelId, UserId),
}

impl Awaited {
    /// What says that `command` is stored: a new channel by its creator's join.
    pub fn of_command(command: &Command) -> Awaited {
        match command {
            Command::Post { channel, sender, client_msg_id, .. }
            | Command::Change { channel, actor: sender, client_msg_id, .. } => {
                Awaited::Keyed(*channel, *sender, client_msg_id.as_str().to_owned())
            }
            Command::Join { channel, user, .. } => Awaited::Joined(*channel, *user),
            Command::Leave { channel, user, .. } => Awaited::Left(*channel, *user),
            Command::Create { channel, .. } => Awaited::Joined(channel.id, channel.created_by),
        }
    }

    fn of(event: &Event) -> Awaited {
        match &event.kind {
            EventKind::MemberJoined { user_id } => Awaited::Joined(event.channel_id, *user_id),
            EventKind::MemberLeft { user_id } => Awaited::Left(event.channel_id, *user_id),
            kind => Awaited::Keyed(event.channel_id, event.sender_id, kind.client_msg_id().unwrap_or("").to_owned()),
        }
    }
}

#[derive(Default)]
pub struct StoredWaiters {
    waiting: Mutex<HashMap<Awaited, Vec<oneshot::Sender<Event>>>>,
    /// How many wait, read without the lock: the dispatcher's cost is one
    /// atomic load per batch while nobody waits (always, in embedded mode).
    count: AtomicUsize,
}

impl StoredWaiters {
    /// Starts waiting for the event that says `awaited`. Register before the
    /// command is handed on, so that its event cannot come first unseen.
    pub fn wait(self: &Arc<Self>, awaited: Awaited) -> Waiter {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(awaited.clone()).or_default().push(tx);
        self.count.fetch_add(1, Ordering::Release);
        Waiter { key: awaited, rx: Some(rx), owner: self.clone() }
    }

    /// Hands each stored event to whoever waits for it.
    pub fn resolve(&self, events: &[Event]) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut waiting = self.lock();
        for event in events {
            for tx in waiting.get_mut(&Awaited::of(event)).map(std::mem::take).unwrap_or_default() {
                let _ = tx.send(event.clone());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Awaited, Vec<oneshot::Sender<Event>>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Waiter {
    key: Awaited,
    rx: Option<oneshot::Receiver<Event>>,
    owner: Arc<StoredWaiters>,
}

impl Waiter {
    /// The stored event, if it comes within `limit`.
    pub async fn within(mut self, limit: Duration) -> Option<Event> {
        let rx = self.rx.as_mut()?;
        tokio::time::timeout(limit, rx).await.ok()?.ok()
    }
}

impl Drop for Waiter {
    /// Forgets this waiter (and any other whose caller has gone).
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut waiting = self.owner.lock();
        if let Some(senders) = waiting.get_mut(&self.key) {
            senders.retain(|tx| !tx.is_closed());
            if senders.is_empty() {
                waiting.remove(&self.key);
            }
        }
        self.owner.count.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use crate::id::EventId;
    use crate::time::Timestamp;

    use super::*;

    fn message(channel: ChannelId, sender: UserId, id: &str) -> Event {
        Event {
            channel_id: channel,
            seq: 1,
            id: EventId::generate(),
            sender_id: sender,
            created_at: Timestamp::now(),
            kind: EventKind::Message {
                body: "hi".into(),
                client_msg_id: id.into(),
                reply_to_seq: None,
                mentions: Default::default(),
                state: Default::default(),
            },
        }
    }

    #[tokio::test]
    async fn a_waiter_gets_its_own_message_and_forgets_itself() {
        let waiters = Arc::new(StoredWaiters::default());
        let (channel, sender) = (ChannelId::generate(), UserId::generate());
        let mine = waiters.wait(Awaited::Keyed(channel, sender, "m1".into()));
        let other = waiters.wait(Awaited::Keyed(channel, sender, "m2".into()));
        waiters.resolve(&[message(channel, UserId::generate(), "m1"), message(channel, sender, "m1")]);
        let event = mine.within(Duration::from_secs(1)).await.expect("resolved");
        assert_eq!(event.sender_id, sender);
        assert_eq!(other.within(Duration::from_millis(20)).await, None, "not its message: times out");
        assert_eq!(waiters.count.load(Ordering::Acquire), 0);
        assert!(waiters.lock().is_empty());
    }

    #[tokio::test]
    async fn a_membership_waiter_gets_the_event_of_its_user() {
        let waiters = Arc::new(StoredWaiters::default());
        let (channel, user) = (ChannelId::generate(), UserId::generate());
        let joined = waiters.wait(Awaited::Joined(channel, user));
        let left = waiters.wait(Awaited::Left(channel, user));
        let event = |kind| Event { kind, ..message(channel, user, "m") };
        waiters.resolve(&[
            event(EventKind::MemberJoined { user_id: UserId::generate() }),
            event(EventKind::MemberLeft { user_id: user }),
        ]);
        assert_eq!(
            left.within(Duration::from_secs(1)).await.map(|e| e.kind),
            Some(EventKind::MemberLeft { user_id: user })
        );
        assert_eq!(joined.within(Duration::from_millis(20)).await, None, "another user joined: times out");
        assert!(waiters.lock().is_empty());
    }
}
