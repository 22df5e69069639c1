//! The event feed on Kafka: `publish` produces each event to `parley.events`
//! keyed by its channel and returns once every in-sync replica has it.

use std::time::Duration;

use async_trait::async_trait;
use parley_core::feed::{EventBatch, EventFeed, FeedSubscription};
use parley_core::{Error, Result};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::error::{blocking, client_err, kafka_err};
use crate::subscription::{KafkaSubscription, Start};
use crate::{topics, wire, KafkaConfig};

/// How long `publish` waits before offering a message again when librdkafka's
/// local queue (`queue.buffering.max.messages`) is full. The queue drains as
/// deliveries complete or time out, so the wait is bounded by the delivery
/// timeout; the message is offered again rather than skipped so that a
/// batch's events keep their order.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// The feed of cluster mode. Cheap to clone: the producer is a shared handle.
#[derive(Clone)]
pub struct KafkaFeed {
    config: KafkaConfig,
    producer: FutureProducer,
}

impl KafkaFeed {
    /// Creates the topics if missing (see [`topics::ensure_topics`]) and the producer.
    pub async fn connect(config: KafkaConfig) -> Result<KafkaFeed> {
        topics::ensure_topics(&config).await?;
        let producer: FutureProducer = config.producer().create().map_err(client_err)?;
        // librdkafka looks a topic it does not know yet up once a second, so
        // the first publish would wait up to a second (librdkafka#3202):
        // asking for its metadata now makes it known.
        let (known, topic, timeout) = (producer.clone(), config.events_topic.clone(), config.request_timeout);
        blocking(move || {
            known.client().fetch_metadata(Some(&topic), timeout).map_err(|err| kafka_err("reading metadata", err))
        })
        .await?;
        tracing::info!(brokers = %config.brokers, topic = %config.events_topic, "kafka event feed connected");
        Ok(KafkaFeed { config, producer })
    }

    /// A subscription from `start`: the feed's own `subscribe` starts at the
    /// end; tests start elsewhere.
    pub(crate) async fn subscribe_from(&self, start: Start) -> Result<KafkaSubscription> {
        KafkaSubscription::open(&self.config, start).await
    }
}

#[async_trait]
impl EventFeed for KafkaFeed {
    async fn publish(&self, events: EventBatch) -> Result<()> {
        let messages: Vec<(String, Vec<u8>)> =
            events.iter().map(|event| (wire::key(event), wire::encode(event))).collect();
        // Enqueue every message in order first, then wait for the
        // acknowledgements together: the idempotent producer keeps the order
        // of one partition through retries, and the batch costs one round trip.
        let mut deliveries = Vec::with_capacity(messages.len());
        for (key, value) in &messages {
            let delivery = loop {
                let record = FutureRecord::to(&self.config.events_topic).key(key).payload(value);
                match self.producer.send_result(record) {
                    Ok(delivery) => break delivery,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {}
                    Err((err, _)) => return Err(kafka_err("producing an event", err)),
                }
                tokio::time::sleep(QUEUE_FULL_PAUSE).await;
            };
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((err, _))) => return Err(kafka_err("delivering an event", err)),
                Err(_) => return Err(Error::unavailable("kafka: the producer closed before delivering an event")),
            }
        }
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>> {
        Ok(Box::new(self.subscribe_from(Start::End).await?))
    }
}
