//! What a run asks of each session: the protocol, whether it sends, and
//! the flow that decides when.

use std::net::IpAddr;
use std::time::Duration;

use super::changes::Mix;

/// What the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Parley's protocol: `hello`/`ready`, `send`/`ack`, `event`s with seqs.
    Parley,
    /// The bare baseline: no hello, every text frame broadcast back, no acks.
    Bare,
}

/// The server's limit on one session's unanswered sends.
pub const SERVER_IN_FLIGHT: usize = 64;

/// How a sender decides when to send.
#[derive(Debug, Clone, Copy)]
pub enum Flow {
    /// As fast as acks come back, with at most `window` unanswered.
    Acks { window: usize },
    /// One message every `period`, starting `offset` after the go; skipped
    /// (and counted as a stall) when `window` are unanswered.
    Paced { period: Duration, offset: Duration, window: usize },
    /// As fast as messages reach every member, with at most `window` not yet fully delivered.
    Completions { window: usize },
}

#[derive(Debug, Clone)]
pub struct SendPlan {
    pub sender: u32,
    pub channel_id: String,
    /// Sessions in the channel, this one included.
    pub members: u32,
    pub flow: Flow,
    pub body_size: usize,
    /// Edits and reactions among its operations.
    pub mix: Mix,
}

/// One session to open.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub token: Option<String>,
    /// Bind to this local address before connecting (127.0.0.x spreading).
    pub source: Option<IpAddr>,
    pub send: Option<SendPlan>,
}
