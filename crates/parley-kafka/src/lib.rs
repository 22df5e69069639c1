//! Parley's cluster-mode ports on Apache Kafka (librdkafka, built from source).
//!
//! - [`KafkaConfig`] (`config`): brokers, topic names and settings, timeouts.
//! - [`ensure_topics`] (`topics`): creates `parley.events` and
//!   `parley.commands` at start when missing.
//! - [`KafkaFeed`] (`feed`): the `EventFeed` port. `publish` produces each
//!   event keyed by channel id with the idempotent producer and returns once
//!   Kafka has acknowledged all of them.
//! - `subscription`: a feed subscriber reads every partition by assignment, no
//!   consumer group, from the ends as of `subscribe`; a loss is told as
//!   `unavailable`.
//! - [`KafkaCommandLog`] (`command_log`): the `CommandLog` port. `append`
//!   produces a command (a post, join, leave or new channel) to
//!   `parley.commands` keyed by channel id and returns once
//!   Kafka has acknowledged it; `unavailable` within `command_timeout`, and at
//!   once while the brokers are known down. `ping` is for `/readyz`.
//! - [`Processor`] (`processor`): a member of the processors' consumer group;
//!   takes commands in steps, stores and publishes them with
//!   `parley_core::processor::process`, then commits the offsets.
//!   [`ProcessorStats`] (`stats`) counts what it did.
//! - `wire`: the JSON forms of an event and of a command in a message.
//! - `error`: Kafka errors mapped to the port error.

mod command_log;
mod config;
mod error;
mod feed;
#[cfg(test)]
mod loss_tests;
mod processor;
mod stats;
mod subscription;
mod topics;
mod wire;

pub use command_log::KafkaCommandLog;
pub use config::KafkaConfig;
pub use feed::KafkaFeed;
pub use processor::{run_processor, Processor, DEFAULT_GROUP};
pub use stats::{ProcessorCounts, ProcessorStats};
pub use topics::ensure_topics;
