//! Against the real Kafka of `scripts/services`: a subscriber whose position is
//! gone from the brokers says so once, then reads on from the end.

use std::time::Duration;

use parley_core::feed::{EventBatch, EventFeed, FeedSubscription};
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Event, EventKind};
use parley_core::time::Timestamp;
use parley_core::ErrorCode;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::{Offset, TopicPartitionList};
use uuid::Uuid;

use crate::subscription::Start;
use crate::{KafkaConfig, KafkaFeed};

const PATIENCE: Duration = Duration::from_secs(30);

fn config() -> KafkaConfig {
    let run = Uuid::now_v7().simple();
    KafkaConfig {
        partitions: 2,
        events_topic: format!("parley.events.test-{run}"),
        commands_topic: format!("parley.commands.test-{run}"),
        ..KafkaConfig::new(parley_testkit::services::kafka_brokers())
    }
}

fn event(channel: ChannelId, seq: i64) -> Event {
    Event {
        channel_id: channel,
        seq,
        id: EventId::generate(),
        sender_id: UserId::generate(),
        created_at: Timestamp::now(),
        kind: EventKind::MemberJoined { user_id: UserId::generate() },
    }
}

#[tokio::test]
async fn a_subscriber_whose_events_are_gone_is_told_and_reads_on() {
    let config = config();
    let admin: AdminClient<DefaultClientContext> = config.client().create().unwrap();
    let feed = KafkaFeed::connect(config.clone()).await.unwrap();
    let channel = ChannelId::generate();
    feed.publish(EventBatch::from((1..=3).map(|seq| event(channel, seq)).collect::<Vec<_>>())).await.unwrap();

    // Retention, compressed: every partition's records up to its end are deleted.
    let mut everything = TopicPartitionList::new();
    for partition in 0..config.partitions {
        everything.add_partition_offset(&config.events_topic, partition, Offset::End).unwrap();
    }
    admin.delete_records(&everything, &AdminOptions::new()).await.unwrap();

    let mut late = feed.subscribe_from(Start::Offset(0)).await.unwrap();
    let lost = tokio::time::timeout(PATIENCE, late.next()).await.expect("told in time").unwrap_err();
    assert_eq!(lost.code, ErrorCode::Unavailable, "{lost}");

    feed.publish(EventBatch::from(vec![event(channel, 4)])).await.unwrap();
    let batch = tokio::time::timeout(PATIENCE, late.next()).await.expect("a batch in time").unwrap();
    assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), [4], "reads on from the end");

    let topics = [config.events_topic.as_str(), config.commands_topic.as_str()];
    admin.delete_topics(&topics, &AdminOptions::new()).await.unwrap();
}
