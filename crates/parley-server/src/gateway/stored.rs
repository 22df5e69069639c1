//! REST sends in cluster mode wait, a bounded while, for their message's
//! stored event to come back on the feed: one waiter per pending send, keyed
//! by `(channel, sender, client_msg_id)`, resolved by the hub's dispatcher.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Event, EventKind};
use tokio::sync::oneshot;

type Key = (ChannelId, UserId, String);

#[derive(Default)]
pub struct StoredWaiters {
    waiting: Mutex<HashMap<Key, Vec<oneshot::Sender<Event>>>>,
    /// How many wait, read without the lock: the dispatcher's cost is one
    /// atomic load per batch while nobody waits (always, in embedded mode).
    count: AtomicUsize,
}

impl StoredWaiters {
    /// Starts waiting for the event of this message. Register before the
    /// message is handed on, so that its event cannot come first unseen.
    pub fn wait(self: &Arc<Self>, channel: ChannelId, sender: UserId, client_msg_id: &str) -> Waiter {
        let (tx, rx) = oneshot::channel();
        let key = (channel, sender, client_msg_id.to_owned());
        self.lock().entry(key.clone()).or_default().push(tx);
        self.count.fetch_add(1, Ordering::Release);
        Waiter { key, rx: Some(rx), owner: self.clone() }
    }

    /// Hands each stored message to whoever waits for it.
    pub fn resolve(&self, events: &[Event]) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut waiting = self.lock();
        for event in events {
            if let EventKind::Message { client_msg_id, .. } = &event.kind {
                let key = (event.channel_id, event.sender_id, client_msg_id.clone());
                for tx in waiting.get_mut(&key).map(std::mem::take).unwrap_or_default() {
                    let _ = tx.send(event.clone());
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<oneshot::Sender<Event>>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Waiter {
    key: Key,
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
    use parley_core::id::EventId;
    use parley_core::time::Timestamp;

    use super::*;

    fn message(channel: ChannelId, sender: UserId, id: &str) -> Event {
        Event {
            channel_id: channel,
            seq: 1,
            id: EventId::generate(),
            sender_id: sender,
            created_at: Timestamp::now(),
            kind: EventKind::Message { body: "hi".into(), client_msg_id: id.into(), reply_to_seq: None },
        }
    }

    #[tokio::test]
    async fn a_waiter_gets_its_own_message_and_forgets_itself() {
        let waiters = Arc::new(StoredWaiters::default());
        let (channel, sender) = (ChannelId::generate(), UserId::generate());
        let mine = waiters.wait(channel, sender, "m1");
        let other = waiters.wait(channel, sender, "m2");
        waiters.resolve(&[message(channel, UserId::generate(), "m1"), message(channel, sender, "m1")]);
        let event = mine.within(Duration::from_secs(1)).await.expect("resolved");
        assert_eq!(event.sender_id, sender);
        assert_eq!(other.within(Duration::from_millis(20)).await, None, "not its message: times out");
        assert_eq!(waiters.count.load(Ordering::Acquire), 0);
        assert!(waiters.lock().is_empty());
    }
}
