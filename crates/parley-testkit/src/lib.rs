//! Test support shared by every crate of the workspace.
//!
//! - [`store_suite`]: the `Store` conformance suite every backend passes, as
//!   one `run_all`, as one `pub async fn` per check, and as the
//!   [`store_conformance!`] macro that makes one `#[tokio::test]` per check.
//! - [`app`]: the real server on port 0 over a fresh data directory, and a
//!   small REST client for it (`spawn_app`).
//! - [`feed_suite`]: the `EventFeed` conformance suite.
//! - [`process`]: the real `parley` binary as a child process, for tests that kill it.
//! - [`services`]: the real PostgreSQL, Redis and Kafka (`scripts/services`).
//! - [`ws`]: a WebSocket client that speaks the live protocol.

pub mod app;
pub mod feed_suite;
pub mod process;
pub mod services;
pub mod store_suite;
pub mod ws;
