//! One subscriber's view of the feed: a consumer of every partition of the
//! events topic by explicit assignment (no consumer group, so every gateway
//! sees every event), starting at the partitions' ends as of `subscribe`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use parley_core::feed::{EventBatch, FeedSubscription};
use parley_core::model::Event;
use parley_core::{Error, Result};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use uuid::Uuid;

use crate::error::{blocking, client_err, kafka_err};
use crate::topics::wait_for_leaders;
use crate::{wire, KafkaConfig};

/// Events one `next` returns at most: it takes what librdkafka has already
/// fetched, and this bounds the work and the batch one call hands over.
const MAX_BATCH: usize = 1_024;
/// How long to wait before asking again for an end offset the broker could not give.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Where a new subscription starts reading.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// Each partition's high watermark as of opening: every event acknowledged
    /// after that is at or past it, every event acknowledged before is below.
    End,
    /// The same offset in every partition (tests: one that is gone).
    #[cfg(test)]
    Offset(i64),
}

pub(crate) struct KafkaSubscription {
    consumer: Arc<StreamConsumer>,
    topic: String,
    timeout: Duration,
    /// A loss not yet told: it is told after the events gathered before it.
    lost: Option<Error>,
    /// Some partition stopped at a lost offset: all start again at the end
    /// before the loss is told.
    restart: bool,
}

impl KafkaSubscription {
    pub(crate) async fn open(config: &KafkaConfig, start: Start) -> Result<KafkaSubscription> {
        let group_id = format!("{}-feed-{}", config.client_id, Uuid::now_v7());
        let consumer: StreamConsumer = config.assigned_consumer(&group_id).create().map_err(client_err)?;
        let subscription = KafkaSubscription {
            consumer: Arc::new(consumer),
            topic: config.events_topic.clone(),
            timeout: config.request_timeout,
            lost: None,
            restart: false,
        };
        subscription.assign(start).await?;
        Ok(subscription)
    }

    /// Assigns every partition of the topic at `start`. On return the
    /// positions are fixed: fetching begins there whenever it begins.
    async fn assign(&self, start: Start) -> Result<()> {
        let (consumer, topic, timeout) = (self.consumer.clone(), self.topic.clone(), self.timeout);
        blocking(move || {
            let partitions = wait_for_leaders(consumer.client(), &topic, timeout)?;
            let mut list = TopicPartitionList::with_capacity(partitions);
            for partition in 0..partitions as i32 {
                let offset = match start {
                    Start::End => end_offset(&consumer, &topic, partition, timeout)?,
                    #[cfg(test)]
                    Start::Offset(offset) => offset,
                };
                list.add_partition_offset(&topic, partition, Offset::Offset(offset))
                    .map_err(|err| kafka_err("assigning partitions", err))?;
            }
            consumer.assign(&list).map_err(|err| kafka_err("assigning partitions", err))
        })
        .await
    }

    /// Waits for one message, then takes whatever else is already fetched.
    /// Stops early at a loss and returns it beside the events before it.
    async fn gather(&self) -> (Vec<Event>, Option<Lost>) {
        let mut events = Vec::new();
        let mut stream = self.consumer.stream();
        let mut item = stream.next().await;
        while let Some(result) = item {
            match polled(result) {
                Polled::Event(event) => events.push(event),
                Polled::Lost(lost) => return (events, Some(lost)),
                Polled::Passing(err) => tracing::warn!(topic = %self.topic, error = %err, "kafka consumer error"),
            }
            if events.len() >= MAX_BATCH {
                break;
            }
            item = stream.next().now_or_never().flatten();
        }
        (events, None)
    }
}

#[async_trait]
impl FeedSubscription for KafkaSubscription {
    /// Cancellation-safe: a loss is recorded before anything awaits, so a
    /// caller that drops this future (in a `select!`) is still told of it.
    async fn next(&mut self) -> Result<EventBatch> {
        loop {
            if self.restart {
                // The ends are read before the loss is told, so whatever the
                // caller's resume from the store misses comes from here.
                self.assign(Start::End).await?;
                self.restart = false;
            }
            if let Some(lost) = self.lost.take() {
                return Err(lost);
            }
            let (events, lost) = self.gather().await;
            if let Some(lost) = lost {
                tracing::warn!(topic = %self.topic, error = %lost.error, "kafka feed subscriber lost events");
                self.restart |= lost.restart;
                self.lost = Some(lost.error);
            }
            if !events.is_empty() {
                return Ok(EventBatch::from(events));
            }
        }
    }
}

/// The high watermark of one partition. Retried until `timeout`: just after
/// a topic is made, or while leadership moves, the broker that metadata names
/// may not lead the partition yet.
fn end_offset(consumer: &StreamConsumer, topic: &str, partition: i32, timeout: Duration) -> Result<i64> {
    let deadline = Instant::now() + timeout;
    loop {
        match consumer.fetch_watermarks(topic, partition, timeout) {
            Ok((_, high)) => return Ok(high),
            Err(err) if Instant::now() >= deadline => return Err(kafka_err("reading the end offsets", err)),
            Err(err) => tracing::debug!(%topic, partition, error = %err, "kafka end offset not read yet"),
        }
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// Events this subscriber will never see.
struct Lost {
    error: Error,
    /// Reading stopped in some partition and must start again.
    restart: bool,
}

enum Polled {
    Event(Event),
    Lost(Lost),
    /// An error librdkafka recovers from by itself (a broker went away, a
    /// leader moved): nothing is lost, since positions only move past
    /// delivered messages.
    Passing(KafkaError),
}

fn polled(result: KafkaResult<BorrowedMessage<'_>>) -> Polled {
    match result {
        Ok(message) => match wire::decode(message.payload().unwrap_or_default()) {
            Ok(event) => Polled::Event(event),
            Err(err) => {
                let at = format!("{}/{}@{}", message.topic(), message.partition(), message.offset());
                tracing::error!(%at, error = %err, "kafka feed message skipped");
                Polled::Lost(Lost {
                    error: Error::unavailable(format!("feed message {at} skipped: {err}")),
                    restart: false,
                })
            }
        },
        // With `auto.offset.reset=error` librdkafka stops the partition
        // whose position is no longer on the brokers and says so here.
        Err(KafkaError::MessageConsumption(
            code @ (RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange),
        )) => Polled::Lost(Lost {
            error: Error::unavailable(format!("kafka: the feed's position is gone from the brokers ({code})")),
            restart: true,
        }),
        Err(err) => Polled::Passing(err),
    }
}
