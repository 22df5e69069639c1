//! Parley's domain: plain Rust, no web framework, database driver, Kafka or Redis.
//!
//! - [`error`]: the one error type every transport maps (HTTP status, WebSocket frame, log level).
//! - [`id`] and [`time`]: identifiers (UUIDv7) and millisecond timestamps.
//! - [`parse`]: input newtypes built once at the edge (`Username`, `Body`, …).
//! - [`names`]: what a display name may hold, and when two users' names look alike.
//! - [`emoji`]: a reaction's emoji, checked against the built-in list.
//! - [`model`]: users, channels, members, invites and the events of a channel's log.
//! - [`ports`]: the small async traits each backend implements (`Store` and its parts).
//! - [`search`]: what a people search matches, the same on every store.
//! - [`directory`]: a page of the public channel directory, the same on every store.
//! - [`fulltext`]: full-text search of messages: the words indexed, the query language, highlights.
//! - [`feed`]: the event feed from the Sequencer to every gateway, and its in-process form.
//! - [`command`]: the changes a channel's log takes, and what each did.
//! - [`apply`]: the rules of the log, run by every store inside its write transaction.
//! - [`sequencer`]: the one writer: appends commands to channel logs with group commit.
//! - [`row`]: an event's columns in every store, mapped once.
//! - [`presence`]: presence, typing and read markers across a cluster's nodes (the port Redis implements).
//! - [`processor`]: cluster mode's step from the command log to the store and the feed.
//! - [`stored`]: cluster mode's waiters for the stored event of a command put in the log.
//! - [`writer`]: who appends a change, chosen once: the Sequencer, or the command log.
//! - [`chat`]: the rules of the product (who may see, join, post, read) over the ports.

pub mod accounts;
pub mod apply;
pub mod chat;
pub mod command;
pub mod directory;
pub mod emoji;
pub mod error;
pub mod feed;
pub mod fulltext;
pub mod id;
pub mod mentions;
pub mod model;
pub mod names;
pub mod parse;
pub mod ports;
pub mod presence;
pub mod processor;
pub mod row;
pub mod search;
pub mod sequencer;
pub mod stored;
pub mod time;
pub mod writer;

pub use error::{Error, ErrorCode, Result};
