//! What each mode is built from: the store (SQLite, or PostgreSQL shared by
//! every node), and in cluster mode Kafka's event feed and command log.

use std::sync::Arc;

use anyhow::Context;
use parley_core::ports::Store;
use parley_kafka::{KafkaCommandLog, KafkaConfig, KafkaFeed};
use parley_postgres::PostgresStore;
use parley_sqlite::SqliteStore;

use crate::config::{Cluster, Config};

/// The store: PostgreSQL when a database URL is configured, else the SQLite
/// file in `data_dir`.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &config.database {
        Some(url) => Arc::new(PostgresStore::connect(url.expose()).await.context("connecting to PostgreSQL")?),
        None => Arc::new(
            SqliteStore::open(&config.data_dir)
                .await
                .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
        ),
    })
}

/// Cluster mode's Kafka side: topics made if missing, the feed every gateway
/// reads, and the command log messages are accepted into.
pub struct Kafka {
    pub config: KafkaConfig,
    pub feed: Arc<KafkaFeed>,
    pub commands: Arc<KafkaCommandLog>,
}

impl Kafka {
    pub async fn connect(cluster: &Cluster) -> anyhow::Result<Kafka> {
        let config = KafkaConfig {
            partitions: cluster.partitions,
            replication: cluster.replication,
            events_topic: format!("{}.events", cluster.prefix),
            commands_topic: format!("{}.commands", cluster.prefix),
            client_id: format!("parley-{}", std::process::id()),
            ..KafkaConfig::new(cluster.kafka.clone())
        };
        let feed = KafkaFeed::connect(config.clone()).await.context("connecting to Kafka")?;
        let commands = KafkaCommandLog::connect(config.clone()).await.context("connecting to Kafka")?;
        Ok(Kafka { config, feed: Arc::new(feed), commands: Arc::new(commands) })
    }

    /// The consumer group every processor of this installation joins.
    pub fn processor_group(cluster: &Cluster) -> String {
        format!("{}.processors", cluster.prefix)
    }
}
