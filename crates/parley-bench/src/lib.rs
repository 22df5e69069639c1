//! Parley's benchmark and checking tools.
//!
//! - [`checker`]: reads what clients did and saw (a history) and the
//!   server's final log, and reports every breach of the delivery contract.

pub mod checker;
