//! Parley's wire types, shared by the server, the benchmark and the tests.
//!
//! - [`rest`]: request and response bodies of the REST API, and the error body.
//! - [`frames`]: WebSocket and SSE frames.
//! - [`parse`]: reading a client frame, with errors in the protocol's terms.
//!
//! Requests carry raw strings and numbers: the server parses them into the
//! domain newtypes of `parley-core` at the edge. Responses are built from
//! domain values with the `From` impls here, in one place.

pub mod frames;
pub mod parse;
pub mod rest;

pub use frames::{ClientFrame, ServerFrame};
pub use parse::FrameError;
pub use rest::*;
