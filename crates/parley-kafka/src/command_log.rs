//! The command log on Kafka: `append` produces a command to the commands topic,
//! keyed by its channel, and returns once every in-sync replica has it — or
//! fails within `command_timeout`, and at once while the brokers are known down.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parley_core::command::Command;
use parley_core::ports::{CommandLog, Health};
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::error::{blocking, client_err, kafka_err};
use crate::{topics, wire, KafkaConfig};

/// How long `ping` waits for a metadata answer: a readiness probe must answer
/// well within its own timeout.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// While the brokers are known down, one send in this long is let through to
/// find out whether they are back; the others fail at once.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

type CommandProducer = FutureProducer<GateContext>;

/// The command log of cluster mode (the gateway's side). Sends are
/// independent: concurrent appends share the producer's batches.
pub struct KafkaCommandLog {
    config: KafkaConfig,
    gate: Arc<Gate>,
    /// Replaced when librdkafka reports a fatal error, after which the old
    /// producer refuses every message.
    producer: Mutex<CommandProducer>,
}

impl KafkaCommandLog {
    /// Creates the topics if missing (see [`topics::ensure_topics`]), then the log.
    pub async fn connect(config: KafkaConfig) -> Result<KafkaCommandLog> {
        topics::ensure_topics(&config).await?;
        let log = KafkaCommandLog::new(config)?;
        // librdkafka looks a topic it does not know yet up once a second, so
        // the first send would wait up to a second (librdkafka#3202): asking
        // for its metadata now makes it known.
        log.metadata(log.config.request_timeout).await?;
        tracing::info!(brokers = %log.config.brokers, topic = %log.config.commands_topic, "kafka command log connected");
        Ok(log)
    }

    /// The log, without a word to Kafka yet: a gateway may start while Kafka
    /// is down, not ready (see [`ping`](Self::ping)) until it is back.
    pub fn new(config: KafkaConfig) -> Result<KafkaCommandLog> {
        let gate = Arc::new(Gate::default());
        let producer = create_producer(&config, &gate)?;
        Ok(KafkaCommandLog { config, gate, producer: Mutex::new(producer) })
    }

    /// Succeeds when a broker answers a metadata request for the commands
    /// topic within about 2 s: what `/readyz` asks.
    pub async fn ping(&self) -> Result<()> {
        self.metadata(PING_TIMEOUT).await
    }

    /// Asks a broker for the commands topic's metadata; an answer means sends
    /// may go to Kafka again.
    async fn metadata(&self, timeout: Duration) -> Result<()> {
        let producer = self.producer();
        if let Some((code, reason)) = producer.client().fatal_error() {
            return Err(Error::unavailable(format!("kafka: the command producer failed for good: {code}: {reason}")));
        }
        let topic = self.config.commands_topic.clone();
        blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|err| kafka_err("reading metadata", err))?;
            match metadata.topics().iter().find(|t| t.name() == topic) {
                Some(t) if t.error().is_none() => Ok(()),
                _ => Err(Error::unavailable(format!("kafka: topic {topic} is missing"))),
            }
        })
        .await?;
        self.gate.up();
        Ok(())
    }

    fn producer(&self) -> CommandProducer {
        self.producer.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// After a failed delivery: a timeout means the brokers do not answer; a
    /// fatal error means this producer is done, so the next send gets a new one.
    fn failed(&self, producer: &CommandProducer, err: &KafkaError) {
        if err.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageTimedOut) {
            self.gate.failed("a command timed out", Instant::now());
        }
        let Some((code, reason)) = producer.client().fatal_error() else { return };
        tracing::error!(%code, %reason, "kafka command producer failed for good; making a new one");
        match create_producer(&self.config, &self.gate) {
            Ok(fresh) => *self.producer.lock().unwrap_or_else(PoisonError::into_inner) = fresh,
            Err(error) => tracing::error!(error = %error, "kafka command producer not replaced"),
        }
    }
}

fn create_producer(config: &KafkaConfig, gate: &Arc<Gate>) -> Result<CommandProducer> {
    config.command_producer().create_with_context(GateContext { gate: gate.clone() }).map_err(client_err)
}

#[async_trait]
impl CommandLog for KafkaCommandLog {
    /// Cancellation: a command already handed to the producer may still be
    /// written after the caller gave up; its `client_msg_id` makes the
    /// sender's retry harmless.
    async fn append(&self, command: &Command) -> Result<()> {
        let accepted_at = Timestamp::now();
        let (key, value) = wire::encode_command(command, accepted_at);
        self.gate.admit(Instant::now()).map_err(|reason| Error::unavailable(format!("kafka: {reason}")))?;
        let producer = self.producer();
        let record =
            FutureRecord::to(&self.config.commands_topic).key(&key).payload(&value).timestamp(accepted_at.millis());
        // A full local queue means Kafka is not keeping up: say so now rather
        // than wait for room while the sender waits for its ack.
        let delivery = producer.send_result(record).map_err(|(err, _)| kafka_err("producing a command", err))?;
        match delivery.await {
            Ok(Ok(_)) => {
                self.gate.up();
                Ok(())
            }
            Ok(Err((err, _))) => {
                self.failed(&producer, &err);
                Err(kafka_err("delivering a command", err))
            }
            Err(_) => Err(Error::unavailable("kafka: the producer closed before delivering a command")),
        }
    }
}

#[async_trait]
impl Health for KafkaCommandLog {
    async fn ping(&self) -> Result<()> {
        KafkaCommandLog::ping(self).await
    }
}

/// librdkafka's word on the brokers, kept for `append`: its error callback
/// says when every broker is down; it never says when one is back, so a
/// delivery (or a `ping`) does.
struct GateContext {
    gate: Arc<Gate>,
}

impl ClientContext for GateContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.gate.down("all brokers are down", Instant::now());
        }
        tracing::warn!(error = %error, %reason, "kafka command producer error");
    }
}

/// Whether sends go to Kafka or fail at once. While the brokers are thought
/// down, one send a `PROBE_INTERVAL` after the last sign of it goes through,
/// so that their return is noticed.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// Why the brokers are thought down, while they are.
    down: Option<&'static str>,
    /// The last probe, or the last sign the brokers are down: the next probe
    /// waits `PROBE_INTERVAL` from it.
    last_try: Option<Instant>,
}

impl Gate {
    /// librdkafka says every broker is down. Said again while down, it is no
    /// news and does not put the next probe off.
    fn down(&self, reason: &'static str, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.down.is_none() {
            tracing::warn!(%reason, "kafka command log failing fast");
            *state = GateState { down: Some(reason), last_try: Some(now) };
        }
    }

    /// A send timed out: the brokers did not answer it, so the next probe
    /// waits a while from now.
    fn failed(&self, reason: &'static str, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.down.is_none() {
            tracing::warn!(%reason, "kafka command log failing fast");
        }
        *state = GateState { down: Some(reason), last_try: Some(now) };
    }

    fn up(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.down.take().is_some() {
            tracing::info!("kafka command log sending again");
        }
    }

    /// Ok when a send may go to Kafka at `now`; otherwise why not.
    fn admit(&self, now: Instant) -> Result<(), &'static str> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(reason) = state.down else { return Ok(()) };
        if state.last_try.is_some_and(|at| now.saturating_duration_since(at) < PROBE_INTERVAL) {
            return Err(reason);
        }
        state.last_try = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_down_one_send_a_second_goes_through() {
        let gate = Gate::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(gate.admit(start), Ok(()), "up: every send");
        assert_eq!(gate.admit(start), Ok(()));

        gate.down("all brokers are down", start);
        assert_eq!(gate.admit(at(10)), Err("all brokers are down"));
        assert_eq!(gate.admit(at(999)), Err("all brokers are down"));
        gate.down("all brokers are down", at(999));
        assert_eq!(gate.admit(at(1_000)), Ok(()), "a probe, a second after the brokers went down");
        assert!(gate.admit(at(1_000)).is_err(), "one probe at a time");
        assert!(gate.admit(at(1_999)).is_err());
        assert_eq!(gate.admit(at(2_000)), Ok(()), "the next probe");

        gate.failed("a command timed out", at(5_000));
        assert!(gate.admit(at(5_500)).is_err(), "a timeout puts the next probe off");
        assert_eq!(gate.admit(at(6_000)), Ok(()));

        gate.up();
        assert_eq!(gate.admit(at(6_000)), Ok(()), "up again: every send");
        assert_eq!(gate.admit(at(6_000)), Ok(()));
    }

    #[test]
    fn a_send_that_times_out_closes_the_gate_at_once() {
        let gate = Gate::default();
        let start = Instant::now();
        gate.failed("a command timed out", start);
        assert_eq!(gate.admit(start), Err("a command timed out"));
    }
}
