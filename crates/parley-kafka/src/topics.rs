//! The topics, created at start when missing, and ready once every partition has a leader.

use std::time::{Duration, Instant};

use parley_core::{Error, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::error::{blocking, client_err, kafka_err};
use crate::KafkaConfig;

/// How often start-up looks again for partitions without a leader.
const LEADER_POLL: Duration = Duration::from_millis(100);

/// Creates the events and commands topics if missing, then waits until each
/// has a leader for every partition. A topic that exists is left as it is; a
/// partition count other than the configured one is logged, not changed.
pub async fn ensure_topics(config: &KafkaConfig) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = config.client().create().map_err(client_err)?;
    let min_insync = config.min_insync_replicas().map(|n| n.to_string());
    let names = [config.events_topic.clone(), config.commands_topic.clone()];
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            let topic = NewTopic::new(name, config.partitions, TopicReplication::Fixed(config.replication));
            match &min_insync {
                Some(n) => topic.set("min.insync.replicas", n),
                None => topic,
            }
        })
        .collect();
    // With an operation timeout the controller answers once the topics exist
    // rather than once it has accepted the request.
    let options = AdminOptions::new()
        .request_timeout(Some(config.request_timeout))
        .operation_timeout(Some(config.request_timeout));
    let results = admin.create_topics(&topics, &options).await.map_err(|err| kafka_err("creating topics", err))?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(
                %topic,
                partitions = config.partitions,
                replication = config.replication,
                "kafka topic created"
            ),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(Error::unavailable(format!("kafka: creating topic {topic}: {code}"))),
        }
    }
    let expected = config.partitions;
    let timeout = config.request_timeout;
    blocking(move || {
        for name in &names {
            let partitions = wait_for_leaders(admin.inner(), name, timeout)?;
            if i32::try_from(partitions) != Ok(expected) {
                tracing::warn!(topic = %name, partitions, configured = expected, "kafka topic exists with another partition count");
            }
        }
        Ok(())
    })
    .await
}

/// The partition count of `topic` once every partition has a leader; waits at
/// most `timeout` for that.
pub(crate) fn wait_for_leaders<C: ClientContext>(client: &Client<C>, topic: &str, timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let metadata = client.fetch_metadata(Some(topic), timeout).map_err(|err| kafka_err("reading metadata", err))?;
        let ready =
            metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none()).map(|t| t.partitions()).filter(
                |partitions| {
                    !partitions.is_empty() && partitions.iter().all(|p| p.error().is_none() && p.leader() >= 0)
                },
            );
        if let Some(partitions) = ready {
            return Ok(partitions.len());
        }
        if Instant::now() >= deadline {
            return Err(Error::unavailable(format!("kafka: topic {topic} has no leader for some partition")));
        }
        std::thread::sleep(LEADER_POLL);
    }
}
