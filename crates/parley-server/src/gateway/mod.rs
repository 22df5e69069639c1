//! The live gateway: WebSocket and SSE sessions fed by the event feed.
//!
//! - [`close`]: the codes a session closes with.
//! - [`hub`]: which local session follows which channel; the dispatcher.
//! - [`limits`]: how many sessions one user and one address may hold.
//! - [`session`]: one session's logic, generic over its transport.
//! - [`presence`]: presence, typing and read markers across nodes (cluster mode, Redis).
//! - [`ws`] and [`sse`]: the two transports.

pub mod close;
pub mod hub;
pub mod limits;
pub mod presence;
pub mod session;
pub mod sse;
pub mod ws;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(ws::upgrade)).route("/stream", get(sse::stream))
}
