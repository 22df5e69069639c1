//! The event feed: how stored events reach every gateway. In-process here
//! ([`LocalFeed`]); on Kafka in cluster mode. Both pass the same conformance
//! suite in `parley-testkit`.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::model::Event;
use crate::{Error, Result};

/// One committed batch of events, shared by every subscriber.
pub type EventBatch = Arc<[Event]>;

#[async_trait]
pub trait EventFeed: Send + Sync {
    /// Publishes a batch of stored events; per channel, batches are published in `seq` order.
    async fn publish(&self, events: EventBatch) -> Result<()>;
    /// A subscription that sees every batch published after this call returns.
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>>;
}

#[async_trait]
pub trait FeedSubscription: Send {
    /// The next batch. `Unavailable` when this subscriber fell so far behind that
    /// batches were lost to it: it must treat every session it serves as
    /// needing a resume from the store, then go on reading.
    async fn next(&mut self) -> Result<EventBatch>;
}

/// Batches a slow subscriber may fall behind before it loses some. The
/// gateway's dispatcher only copies frames into session queues, so it keeps up
/// unless the process is starved; losing batches is then stated, not silent.
const LOCAL_FEED_BOUND: usize = 8_192;

/// The in-process feed of embedded mode: a broadcast channel.
#[derive(Clone)]
pub struct LocalFeed {
    sender: broadcast::Sender<EventBatch>,
}

impl Default for LocalFeed {
    fn default() -> Self {
        LocalFeed { sender: broadcast::channel(LOCAL_FEED_BOUND).0 }
    }
}

impl LocalFeed {
    /// Publishes without waiting: what the Sequencer calls after each commit.
    pub fn publish_now(&self, events: EventBatch) {
        // No subscriber yet is not an error: nobody is listening.
        let _ = self.sender.send(events);
    }
}

#[async_trait]
impl EventFeed for LocalFeed {
    async fn publish(&self, events: EventBatch) -> Result<()> {
        self.publish_now(events);
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>> {
        Ok(Box::new(LocalSubscription { receiver: self.sender.subscribe() }))
    }
}

struct LocalSubscription {
    receiver: broadcast::Receiver<EventBatch>,
}

#[async_trait]
impl FeedSubscription for LocalSubscription {
    async fn next(&mut self) -> Result<EventBatch> {
        match self.receiver.recv().await {
            Ok(batch) => Ok(batch),
            Err(broadcast::error::RecvError::Lagged(lost)) => {
                Err(Error::unavailable(format!("the feed subscriber fell behind and lost {lost} batches")))
            }
            Err(broadcast::error::RecvError::Closed) => Err(Error::unavailable("the feed is closed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told() {
        let feed = LocalFeed::default();
        let mut subscription = feed.subscribe().await.unwrap();
        for _ in 0..LOCAL_FEED_BOUND + 1 {
            feed.publish_now(EventBatch::from(Vec::new()));
        }
        assert_eq!(subscription.next().await.unwrap_err().code, ErrorCode::Unavailable);
        assert!(subscription.next().await.is_ok(), "and then goes on reading");
    }
}
