//! The command log and the processor against the real Kafka of
//! `scripts/services` and a real SQLite store. Each test has topics and a
//! consumer group of its own, deleted afterwards.

mod command_log;
mod processor;
mod support;
