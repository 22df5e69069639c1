//! The live gateway: WebSocket and SSE sessions fed by the event feed.
//!
//! - [`hub`]: which local session follows which channel; the dispatcher.
//! - [`limits`]: how many sessions one user and one address may hold.
//! - [`session`]: one session's logic, generic over its transport.
//! - [`presence`]: presence, typing and read markers across nodes (cluster mode, Redis).
//! - [`ws`] and [`sse`]: the two transports.

pub mod hub;
pub mod limits;
pub mod presence;
pub mod session;
pub mod sse;
pub mod ws;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Every close code a session ends with: docs/protocol.md's table, exactly
/// (a test reads it).
pub const CLOSE_CODES: [u16; 10] = [
    hub::CLOSE_GOING_AWAY,
    session::CLOSE_PROTOCOL_ERROR,
    session::CLOSE_BAD_DATA,
    hub::CLOSE_OVERFLOW,
    session::CLOSE_TOO_LARGE,
    session::CLOSE_SERVER_ERROR,
    session::CLOSE_UNAUTHENTICATED,
    hub::CLOSE_REVOKED,
    ws::CLOSE_TOO_MANY_SESSIONS,
    session::CLOSE_BAD_HELLO,
];

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(ws::upgrade)).route("/stream", get(sse::stream))
}

#[cfg(test)]
mod tests {
    /// The close codes docs/protocol.md's table lists are those the server sends.
    #[test]
    fn close_codes_are_documented() {
        let protocol = include_str!("../../../../docs/protocol.md");
        let table = protocol.split("### Limits and close codes").nth(1).expect("the close code section");
        let mut documented: Vec<u16> = table
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.trim_matches('|').split('|').next()?.trim().parse().ok())
            .collect();
        let mut sent = super::CLOSE_CODES.to_vec();
        documented.sort_unstable();
        sent.sort_unstable();
        assert_eq!(documented, sent);
    }
}
