//! Where Kafka is and how the topics are made: typed, with the product's defaults.

use std::time::Duration;

use rdkafka::ClientConfig;

/// The Kafka side of cluster mode. Topic names are part of it so that tests
/// (and several Parley installations sharing one Kafka) stay apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,…]`.
    pub brokers: String,
    /// Partitions of a topic created at start. A topic that already exists
    /// keeps the count it has: adding partitions later would move channels to
    /// other partitions and break their order across the change.
    pub partitions: i32,
    /// Replication factor of a topic created at start. From 3 up the topics
    /// get `min.insync.replicas=2`, so an acknowledged event is on two brokers
    /// and one broker may fail without stopping writes.
    pub replication: i32,
    /// Stored events, key = channel id.
    pub events_topic: String,
    /// Commands waiting for the processor, key = channel id.
    pub commands_topic: String,
    /// The `client.id` Kafka's logs and metrics show for this process.
    pub client_id: String,
    /// How long a produced message may wait for Kafka's acknowledgement (all
    /// in-sync replicas) before `publish` gives up with `unavailable`.
    pub delivery_timeout: Duration,
    /// How long a command may wait for Kafka's acknowledgement before
    /// `append` answers `unavailable`. Far shorter than `delivery_timeout`: a
    /// sender is waiting for its ack, and a send that fails soon is retried
    /// (the `client_msg_id` makes that harmless) where one that hangs is not.
    pub command_timeout: Duration,
    /// How long one metadata, offset or admin request may take.
    pub request_timeout: Duration,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "localhost:9092".into(),
            partitions: 12,
            replication: 1,
            events_topic: "parley.events".into(),
            commands_topic: "parley.commands".into(),
            client_id: "parley".into(),
            delivery_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl KafkaConfig {
    /// The defaults, on these brokers.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig { brokers: brokers.into(), ..KafkaConfig::default() }
    }

    /// `min.insync.replicas` to set on new topics, if any.
    pub(crate) fn min_insync_replicas(&self) -> Option<i32> {
        (self.replication >= 3).then_some(2)
    }

    /// What every client of this crate shares: where the brokers are, who we are.
    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers).set("client.id", &self.client_id);
        config
    }

    /// The idempotent producer: `acks=all`, retries that neither duplicate nor
    /// reorder, and a delivery bound.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut config = self.client();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", millis(self.delivery_timeout))
            // The partitioner of the Java client, so any Kafka tool that
            // produces by channel id lands on the same partition as we do.
            .set("partitioner", "murmur2_random")
            // librdkafka waits 5 ms by default to fill a batch; a message
            // crosses two producers on its way (command, event). Under load
            // batches still fill while a request is in flight.
            .set("linger.ms", "1");
        config
    }

    /// The producer of the command log: the same, with the command bound.
    pub(crate) fn command_producer(&self) -> ClientConfig {
        let mut config = self.producer();
        config.set("message.timeout.ms", millis(self.command_timeout));
        config
    }

    /// A member of the consumer group `group_id`, which commits offsets
    /// itself (only after a step is stored and published). A group that has
    /// no committed offset yet starts at the beginning: commands accepted
    /// before any processor ran are waiting there.
    pub(crate) fn group_consumer(&self, group_id: &str) -> ClientConfig {
        let mut config = self.client();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            // A member that dies without leaving the group (SIGKILL, a lost
            // node) holds its partitions, and their channels wait, until the
            // session times out: 10 s rather than the default 45. Heartbeats
            // come from librdkafka's own thread, so a busy step never misses
            // one; they also carry the news of a rebalance, so a member that
            // left is replaced within about a second.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000");
        config
    }

    /// A consumer that reads by explicit assignment. librdkafka's `assign`
    /// needs a `group.id`, but with no `subscribe` and no commits the group
    /// is never joined and no offsets are stored for it.
    pub(crate) fn assigned_consumer(&self, group_id: &str) -> ClientConfig {
        let mut config = self.client();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            // Reading from an offset that is no longer on the brokers (deleted
            // by retention, or truncated) must surface as an error: the
            // subscriber has lost events and has to say so.
            .set("auto.offset.reset", "error");
        config
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_designs() {
        let config = KafkaConfig::new("k1:9092,k2:9092");
        assert_eq!(config.brokers, "k1:9092,k2:9092");
        assert_eq!((config.partitions, config.replication), (12, 1));
        assert_eq!(
            (config.events_topic.as_str(), config.commands_topic.as_str()),
            ("parley.events", "parley.commands")
        );
        assert_eq!(config.min_insync_replicas(), None);
        assert_eq!(KafkaConfig { replication: 3, ..config }.min_insync_replicas(), Some(2));
    }

    #[test]
    fn the_producer_waits_for_every_in_sync_replica() {
        let producer = KafkaConfig::default().producer();
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let commands = KafkaConfig::default().command_producer();
        assert_eq!(commands.get("acks"), Some("all"));
        assert_eq!(commands.get("message.timeout.ms"), Some("5000"), "fails fast, unlike the feed's 30 s");
    }

    #[test]
    fn the_processor_commits_itself_and_starts_at_the_beginning() {
        let consumer = KafkaConfig::default().group_consumer("parley.processors");
        assert_eq!(consumer.get("group.id"), Some("parley.processors"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("auto.offset.reset"), Some("earliest"));
    }
}
