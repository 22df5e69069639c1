//! The processor of cluster mode: a consumer-group member that takes commands
//! from the commands topic in steps, appends and publishes each step with
//! [`parley_core::processor::process`], and only then commits its offsets.
//!
//! A step that fails is run again, the same commands, until it succeeds: the
//! dedupe key makes that harmless. Whatever this member processed but did not
//! commit (a crash, a stop, a rebalance) its partitions' next owner processes
//! again, harmlessly too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use parley_core::command::Command;
use parley_core::feed::EventFeed;
use parley_core::processor::{self, Processed};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::error::{blocking, client_err, kafka_err};
use crate::stats::ProcessorStats;
use crate::{topics, wire, KafkaConfig};

/// The consumer group of the processors, unless configured otherwise.
pub const DEFAULT_GROUP: &str = "parley.processors";

/// The most messages one step takes: the Sequencer's largest batch, so a full
/// step is one transaction.
const MAX_STEP: usize = 4_096;
/// The wait before a failed step is run again, doubling up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

type GroupConsumer = StreamConsumer<GroupContext>;

/// One processor: joins the group at [`connect`](Self::connect), works until
/// [`run`](Self::run) is told to stop.
pub struct Processor {
    consumer: Arc<GroupConsumer>,
    topic: String,
    sequencer: Sequencer,
    feed: Arc<dyn EventFeed>,
    stats: Arc<ProcessorStats>,
}

/// Connects a processor to `group` and runs it until `stop`.
pub async fn run_processor(
    config: KafkaConfig,
    group: &str,
    sequencer: Sequencer,
    feed: Arc<dyn EventFeed>,
    stop: CancellationToken,
) -> Result<()> {
    Processor::connect(config, group, sequencer, feed).await?.run(stop).await
}

impl Processor {
    /// Creates the topics if missing and subscribes to the commands topic as
    /// a member of `group`; partitions come once [`run`](Self::run) polls.
    pub async fn connect(
        config: KafkaConfig,
        group: &str,
        sequencer: Sequencer,
        feed: Arc<dyn EventFeed>,
    ) -> Result<Processor> {
        topics::ensure_topics(&config).await?;
        let context = GroupContext { group: group.to_owned() };
        let consumer: GroupConsumer = config.group_consumer(group).create_with_context(context).map_err(client_err)?;
        let topic = config.commands_topic;
        consumer.subscribe(&[&topic]).map_err(|err| kafka_err("subscribing to the commands", err))?;
        tracing::info!(%group, %topic, "kafka processor subscribed");
        Ok(Processor { consumer: Arc::new(consumer), topic, sequencer, feed, stats: Arc::default() })
    }

    /// What this processor has done so far; readable while it runs.
    pub fn stats(&self) -> Arc<ProcessorStats> {
        self.stats.clone()
    }

    /// Steps until `stop`: gather, process (again and again until it
    /// succeeds), commit. `stop` is heeded while waiting for commands and
    /// between tries of a failed step; a try under way finishes first (the
    /// store's and the feed's timeouts bound it). Fails only when the consumer
    /// can no longer work.
    pub async fn run(self, stop: CancellationToken) -> Result<()> {
        let result = self.steps(&stop).await;
        // Closing leaves the group, so the partitions move to the other
        // members at once; it blocks while it does.
        let consumer = self.consumer.clone();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
        tracing::info!("kafka processor stopped");
        result
    }

    async fn steps(&self, stop: &CancellationToken) -> Result<()> {
        while let Some(step) = self.gather(stop).await {
            if let Some((code, reason)) = self.consumer.client().fatal_error() {
                return Err(Error::unavailable(format!("kafka: the processor's consumer failed: {code}: {reason}")));
            }
            if step.offsets.is_empty() {
                continue;
            }
            let started = Instant::now();
            let processed = if step.commands.is_empty() {
                Processed::default()
            } else {
                match self.process(&step.commands, stop).await {
                    Some(processed) => processed,
                    None => break,
                }
            };
            let processed_in = started.elapsed();
            self.commit(&step).await;
            self.stats.add_step(step.commands.len(), step.skipped, processed);
            tracing::debug!(
                process_ms = processed_in.as_millis() as u64,
                commit_ms = (started.elapsed() - processed_in).as_millis() as u64,
                commands = step.commands.len(),
                skipped = step.skipped,
                published = processed.published,
                refused = processed.refused,
                lag_ms = step.oldest.map(|at| Timestamp::now().millis() - at.millis()),
                "kafka processor step done"
            );
        }
        Ok(())
    }

    /// Waits for a message (or `stop`: `None`), then takes what else is
    /// already fetched, up to `MAX_STEP`. A rebalance ends the gathering, so a
    /// step holds messages of one assignment only.
    async fn gather(&self, stop: &CancellationToken) -> Option<Step> {
        let mut stream = self.consumer.stream();
        let mut item = tokio::select! {
            biased;
            () = stop.cancelled() => return None,
            item = stream.next() => item,
        };
        let mut step = Step::default();
        while let Some(result) = item {
            match result {
                Ok(message) => step.take(&message),
                // librdkafka recovers from these itself (a broker went away, a
                // coordinator moved); positions only move past delivered messages.
                Err(err) => tracing::warn!(topic = %self.topic, error = %err, "kafka processor consumer error"),
            }
            if step.messages >= MAX_STEP {
                break;
            }
            item = stream.next().now_or_never().flatten();
        }
        Some(step)
    }

    /// Runs `commands` until they succeed (`Some`) or `stop` (`None`).
    async fn process(&self, commands: &[Command], stop: &CancellationToken) -> Option<Processed> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match processor::process(&self.sequencer, self.feed.as_ref(), commands.to_vec()).await {
                Ok(processed) => return Some(processed),
                Err(error) => {
                    self.stats.add_retry();
                    tracing::warn!(
                        error = %error,
                        commands = commands.len(),
                        retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        "kafka processor step failed; running it again"
                    );
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Commits the step's next offsets. A failure is logged, not returned: after
    /// a rebalance the partitions' new owner reads the step again, and
    /// otherwise the next step's commit covers this one's.
    async fn commit(&self, step: &Step) {
        let mut offsets = TopicPartitionList::with_capacity(step.offsets.len());
        for (&partition, &next) in &step.offsets {
            if let Err(err) = offsets.add_partition_offset(&self.topic, partition, Offset::Offset(next)) {
                tracing::warn!(topic = %self.topic, partition, error = %err, "kafka processor offset not committed");
            }
        }
        let consumer = self.consumer.clone();
        let committed = blocking(move || {
            consumer.commit(&offsets, CommitMode::Sync).map_err(|err| kafka_err("committing offsets", err))
        })
        .await;
        if let Err(error) = committed {
            self.stats.add_failed_commit();
            tracing::warn!(
                error = %error,
                offsets = ?step.offsets,
                "kafka processor commit failed; the step will be processed again, harmlessly"
            );
        }
    }
}

/// The messages of one step.
#[derive(Default)]
struct Step {
    commands: Vec<Command>,
    /// Per partition, the offset after the last message taken: what a commit stores.
    offsets: BTreeMap<i32, i64>,
    /// Messages taken, `skipped` ones included.
    messages: usize,
    /// Messages that are not a command this version reads: logged, and committed.
    skipped: usize,
    /// When the gateway accepted the oldest command here.
    oldest: Option<Timestamp>,
}

impl Step {
    fn take(&mut self, message: &BorrowedMessage<'_>) {
        self.messages += 1;
        let next = self.offsets.entry(message.partition()).or_insert(0);
        *next = (*next).max(message.offset() + 1);
        match wire::decode_command(message.payload().unwrap_or_default()) {
            Ok(accepted) => {
                self.oldest = Some(self.oldest.map_or(accepted.accepted_at, |at| at.min(accepted.accepted_at)));
                self.commands.push(accepted.command);
            }
            Err(error) => {
                self.skipped += 1;
                let at = format!("{}/{}@{}", message.topic(), message.partition(), message.offset());
                tracing::error!(%at, error = %error, "kafka processor skipped a command message");
            }
        }
    }
}

/// The group's callbacks: rebalances and client errors, logged.
struct GroupContext {
    group: String,
}

impl ClientContext for GroupContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(group = %self.group, error = %error, %reason, "kafka processor client error");
    }
}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions = |list: &TopicPartitionList| {
            list.elements().iter().map(|e| e.partition().to_string()).collect::<Vec<_>>().join(",")
        };
        match rebalance {
            Rebalance::Assign(list) => {
                tracing::info!(group = %self.group, partitions = %partitions(list), "kafka processor partitions assigned");
            }
            Rebalance::Revoke(list) => {
                tracing::info!(group = %self.group, partitions = %partitions(list), "kafka processor partitions revoked");
            }
            Rebalance::Error(err) => {
                tracing::warn!(group = %self.group, error = %err, "kafka processor rebalance failed")
            }
        }
    }
}
