//! Parley's cluster-mode `Presence` port on Redis.
//!
//! - [`RedisPresence`] (`presence`): the port; starts a node's tasks and
//!   stops them (`shutdown` gives the node's claim up; a drop is a crash).
//! - `node`: the node's online users, kept in memory (the truth for that
//!   node), mirrored into Redis with Lua scripts that announce a user's first
//!   and last live node atomically; while Redis is known down, calls answer
//!   `unavailable` at once and changes wait to be re-sent.
//! - [`RedisPresenceConfig`] (`config`): key prefix, claim TTL, renewal and
//!   sweep periods, per-call timeout.
//! - `keeper`: the node's background task: renews its claim (and repairs
//!   Redis from the local truth after a failure or a Redis restart), and
//!   sweeps nodes whose claim lapsed.
//! - `subscriber`: one pub/sub connection per node, opened again after a
//!   drop, fanned out to every [`parley_core::presence::NoticeStream`].
//! - `scripts`: the Lua scripts and the key layout they share.
//! - `wire`: the text form of a notice on the channel (presence, typing,
//!   read markers).
//! - `error`: Redis errors mapped to the port error where they arise.
//!
//! What it promises, with the default timings: a dead node's users count as
//! offline within `ttl` (20 s) and are announced `Offline` within `ttl +
//! sweep_every` (25 s); after Redis loses its data (a restart), every node
//! puts its users back within `renew_every` (5 s), announcing them `Online`
//! again. Notices published while a node's subscription is down are lost.

mod config;
mod error;
mod keeper;
mod node;
mod presence;
mod scripts;
mod subscriber;
mod wire;

pub use config::RedisPresenceConfig;
pub use presence::RedisPresence;
