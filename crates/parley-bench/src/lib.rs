//! Parley's benchmark and checking tools.
//!
//! - [`checker`]: reads what clients did and saw (a history) and the
//!   server's final log, and reports every breach of the delivery contract.
//! - [`load`]: the load generator's parts — the target server, REST setup,
//!   WebSocket sessions, statistics, the consistency check and reports.
//! - [`scenarios`]: `throughput` and `fanout`, built from those parts.
//! - [`baseline`]: the bare axum broadcast server fan-out is compared with.

pub mod baseline;
pub mod checker;
pub mod load;
pub mod scenarios;
