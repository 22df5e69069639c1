//! The EventFeed conformance suite: what every feed (in-process, Kafka) must do.
//! Each check takes a fresh feed and panics on failure.

use std::sync::Arc;
use std::time::Duration;

use parley_core::feed::{EventBatch, EventFeed, FeedSubscription};
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Event, EventKind};
use parley_core::time::Timestamp;

/// How long a check waits for one batch before calling the feed broken.
const PATIENCE: Duration = Duration::from_secs(30);

fn event(channel: ChannelId, seq: i64) -> Event {
    Event {
        channel_id: channel,
        seq,
        id: EventId::generate(),
        sender_id: UserId::generate(),
        created_at: Timestamp::now(),
        kind: EventKind::Message {
            body: format!("body {seq}"),
            client_msg_id: format!("m{seq}"),
            reply_to_seq: None,
            mentions: Default::default(),
            state: Default::default(),
        },
    }
}

/// Reads events until `count` have come, batch by batch.
async fn read(subscription: &mut Box<dyn FeedSubscription>, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < count {
        let batch =
            tokio::time::timeout(PATIENCE, subscription.next()).await.expect("a batch in time").expect("feed ok");
        events.extend(batch.iter().cloned());
    }
    events
}

/// Every subscriber sees every published event, once, per channel in seq order.
pub async fn every_subscriber_sees_everything_in_order(feed: Arc<dyn EventFeed>) {
    let mut first = feed.subscribe().await.unwrap();
    let mut second = feed.subscribe().await.unwrap();
    let channels = [ChannelId::generate(), ChannelId::generate(), ChannelId::generate()];
    let mut published = Vec::new();
    for seq in 1..=100 {
        let batch: Vec<Event> = channels.iter().map(|c| event(*c, seq)).collect();
        published.extend(batch.iter().cloned());
        feed.publish(EventBatch::from(batch)).await.unwrap();
    }
    for subscription in [&mut first, &mut second] {
        let seen = read(subscription, published.len()).await;
        assert_eq!(seen.len(), published.len());
        for channel in channels {
            let mine: Vec<&Event> = seen.iter().filter(|e| e.channel_id == channel).collect();
            let expected: Vec<&Event> = published.iter().filter(|e| e.channel_id == channel).collect();
            assert_eq!(mine, expected, "one channel's events, complete and in seq order");
        }
    }
}

/// A subscription sees what is published after it was made, not before.
pub async fn a_subscription_starts_now(feed: Arc<dyn EventFeed>) {
    let channel = ChannelId::generate();
    feed.publish(EventBatch::from(vec![event(channel, 1)])).await.unwrap();
    let mut late = feed.subscribe().await.unwrap();
    feed.publish(EventBatch::from(vec![event(channel, 2)])).await.unwrap();
    let seen = read(&mut late, 1).await;
    assert_eq!(seen.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
}

/// Events come back exactly as published, every field.
pub async fn events_arrive_intact(feed: Arc<dyn EventFeed>) {
    let mut subscription = feed.subscribe().await.unwrap();
    let channel = ChannelId::generate();
    let user = UserId::generate();
    let batch = vec![
        Event {
            kind: EventKind::Message {
                body: "héllo 😀\nline".into(),
                client_msg_id: "c-1".into(),
                reply_to_seq: Some(1),
                mentions: Default::default(),
                state: Default::default(),
            },
            ..event(channel, 2)
        },
        Event { kind: EventKind::MemberJoined { user_id: user }, ..event(channel, 3) },
        Event { kind: EventKind::MemberLeft { user_id: user }, ..event(channel, 4) },
    ];
    feed.publish(EventBatch::from(batch.clone())).await.unwrap();
    assert_eq!(read(&mut subscription, 3).await, batch);
}

/// Runs every check, each on a fresh feed.
pub async fn run_all<F, Fut>(new_feed: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn EventFeed>>,
{
    every_subscriber_sees_everything_in_order(new_feed().await).await;
    a_subscription_starts_now(new_feed().await).await;
    events_arrive_intact(new_feed().await).await;
}
