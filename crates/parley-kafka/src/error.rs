//! Kafka errors mapped to the port error where they arise; `KafkaError` never leaves this crate.

use parley_core::{Error, Result};
use rdkafka::error::KafkaError;

/// Kafka did not do what was asked (brokers down, a timeout, a refused
/// request): retrying later may work.
pub(crate) fn kafka_err(what: &str, err: KafkaError) -> Error {
    Error::unavailable(format!("kafka: {what}: {err}")).with_source(err)
}

/// A client could not be made: the configuration is wrong.
pub(crate) fn client_err(err: KafkaError) -> Error {
    Error::internal(format!("kafka: creating a client: {err}")).with_source(err)
}

/// Runs one of librdkafka's blocking calls (metadata, offsets) off the async
/// worker threads.
pub(crate) async fn blocking<T, F>(call: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|err| Error::internal(format!("kafka: a blocking call failed: {err}")).with_source(err))?
}
