//! The Kafka feed passes the EventFeed conformance suite, against the real
//! Kafka of `scripts/services`. Each feed gets topics named for it alone, so
//! runs never see each other's events; they are deleted afterwards.

use std::sync::{Arc, Mutex};

use parley_core::feed::EventFeed;
use parley_kafka::{KafkaConfig, KafkaFeed};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use uuid::Uuid;

/// The defaults (12 partitions, replication 1) on topics of this feed's own.
fn config() -> KafkaConfig {
    let run = Uuid::now_v7().simple();
    KafkaConfig {
        events_topic: format!("parley.events.test-{run}"),
        commands_topic: format!("parley.commands.test-{run}"),
        ..KafkaConfig::new(parley_testkit::services::kafka_brokers())
    }
}

async fn delete_topics(configs: &[KafkaConfig]) {
    let Some(first) = configs.first() else { return };
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &first.brokers).create().unwrap();
    let topics: Vec<&str> = configs.iter().flat_map(|c| [c.events_topic.as_str(), c.commands_topic.as_str()]).collect();
    for result in admin.delete_topics(&topics, &AdminOptions::new()).await.unwrap() {
        result.unwrap();
    }
}

#[tokio::test]
async fn kafka_feed_conforms() {
    let made = Arc::new(Mutex::new(Vec::new()));
    parley_testkit::feed_suite::run_all(|| {
        let made = made.clone();
        async move {
            let config = config();
            made.lock().unwrap().push(config.clone());
            Arc::new(KafkaFeed::connect(config).await.unwrap()) as Arc<dyn EventFeed>
        }
    })
    .await;
    let made = std::mem::take(&mut *made.lock().unwrap());
    delete_topics(&made).await;
}

/// Start-up creates both topics with the configured partitions, and a second
/// start finds them and leaves them be.
#[tokio::test]
async fn topics_are_created_once_with_the_configured_partitions() {
    let config = KafkaConfig { partitions: 3, ..config() };
    KafkaFeed::connect(config.clone()).await.unwrap();
    KafkaFeed::connect(KafkaConfig { partitions: 5, ..config.clone() }).await.unwrap();

    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &config.brokers).create().unwrap();
    for topic in [&config.events_topic, &config.commands_topic] {
        let metadata = admin.inner().fetch_metadata(Some(topic), std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(metadata.topics()[0].partitions().len(), 3, "{topic}");
    }
    delete_topics(&[config]).await;
}
