//! Parley's server: the HTTP gateway over the core, and what the binary runs.
//!
//! - [`config`]: flags, `PARLEY_*` environment and `parley.toml`, layered.
//! - [`app`]: `Application::build(config)` → `port()` → `run_until_stopped(shutdown)`.
//! - [`connections`]: the listener's connections: a cap, timeouts, hyper.
//! - [`client_addr`]: who a request comes from (behind trusted proxies too).
//! - [`origin`]: which web origins may use the session cookie.
//! - [`backends`]: the store (SQLite or PostgreSQL) and cluster mode's Kafka parts.
//! - [`http`]: the REST routes, the error body, extractors.
//! - [`gateway`]: live sessions over WebSocket and SSE, and the hub that feeds them.
//! - [`auth`]: argon2id passwords and session tokens.
//! - [`rate`]: the rate limits of every write, login and registration.
//! - [`metrics`], [`state`]: Prometheus counters, shared state.
//! - [`telemetry`]: structured logs.
//! - [`web`]: the embedded browser client served at `/`.

pub mod admin;
pub mod app;
pub mod auth;
pub mod backends;
pub mod client_addr;
pub mod config;
pub mod connections;
pub mod export;
pub mod gateway;
pub mod http;
pub mod import;
pub mod metrics;
pub mod origin;
pub mod rate;
pub mod send;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod webhooks;

pub use app::Application;
pub use config::Config;
