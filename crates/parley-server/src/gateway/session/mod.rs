//! One live session, whatever carries it (WebSocket or SSE): generic over a
//! `Stream` of what the client sent and a `Sink` of what goes back, so it is
//! tested over in-memory channels.
//!
//! A `select!` loop over {client frame, finished send, queued deliveries,
//! the clock (ping and liveness deadline), close request}. Per channel it
//! remembers the last `seq` it sent; an event at or below it is dropped, and
//! one beyond the next is preceded by the missing events read from the
//! store. That one rule makes the seam between replay and live exact, and
//! turns any hole into a refill rather than a silent gap.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{Sink, SinkExt, Stream, StreamExt};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, MyChannel, User};
use parley_core::parse::{parse_seq, Seq};
use parley_core::{Error, ErrorCode};
use parley_protocol::{self as wire, ServerFrame};
use tokio::time::Instant;

use super::close::CloseCode;
use super::hub::{Delivery, Frame, SessionLink};
use crate::http::error::public_message;
use crate::state::AppState;

mod follow;
mod frames;

/// What the transport read from the client.
#[derive(Debug)]
pub enum Inbound {
    Text(String),
    Binary,
    /// A frame over the size limit: the session closes with 1009.
    TooLarge,
    /// The client broke the WebSocket protocol: the session closes with 1002.
    Broken,
    /// A text frame that is not UTF-8: the session closes with 1007.
    BadData,
    /// A ping, pong or anything else that shows the client is there.
    Alive,
    Closed,
}

/// What the session writes.
#[derive(Clone)]
pub enum Outbound {
    Frame(Frame),
    Ping,
    Close(CloseCode, &'static str),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub ping_every: Duration,
    /// Close a session the client has been silent on for this long (WebSocket only).
    pub idle_after: Option<Duration>,
}

/// The server pings a WebSocket this often: a client that only answers
/// pings (any WebSocket library does) is heard from at least this often.
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// A WebSocket heard nothing from (no frame, ping or pong) for this long is
/// closed with 1001: two missed pongs, or two missed pings of the web
/// client (every 20 s). The close happens at this deadline, not at the next
/// tick, and the session leaves the hub before its close frame is written,
/// so a client whose network silently dropped is shown offline by about
/// this long later (plus one Redis call in a cluster): within the 60 s
/// docs/protocol.md promises.
pub const SILENT_FOR: Duration = Duration::from_secs(40);
/// An SSE stream cannot answer; the tick only finds out whether the
/// response is still being read (a write to a dropped stream fails).
/// Proxies are kept from timing out by axum's keep-alive comments.
const SSE_CHECK_EVERY: Duration = Duration::from_secs(30);

impl Settings {
    pub fn websocket() -> Self {
        Settings { ping_every: PING_EVERY, idle_after: Some(SILENT_FOR) }
    }
    pub fn sse() -> Self {
        Settings { ping_every: SSE_CHECK_EVERY, idle_after: None }
    }
}

/// Events replayed inline per channel; beyond that, one `gap` frame.
pub const REPLAY_INLINE: i64 = 1_000;
/// Sends of one session awaiting their commit; past this the session stops reading.
const MAX_IN_FLIGHT: usize = 64;
/// Deliveries written per flush.
const WRITE_BATCH: usize = 256;
/// How long a close frame may take to get out.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// A client-sent `resume`: channel → the last `seq` it has.
pub type Resume = HashMap<ChannelId, Seq>;

/// Parses a resume map; an entry with a malformed id or seq is an error
/// that names it.
pub fn parse_resume(raw: &BTreeMap<String, i64>) -> Result<Resume, Error> {
    raw.iter()
        .map(|(id, seq)| {
            let Ok(channel) = id.parse::<ChannelId>() else {
                let id = serde_json::to_string(&id.chars().take(40).collect::<String>()).unwrap_or_default();
                return Err(Error::bad_request(format!("\"hello\": \"resume\" has {id}, which is not a channel id")));
            };
            let seq = parse_seq(*seq, &format!("\"hello\": the seq of channel {channel} in \"resume\""))?;
            Ok((channel, seq))
        })
        .collect()
}

struct Session<W> {
    state: AppState,
    user: User,
    link: Arc<SessionLink>,
    output: W,
    delivered: HashMap<ChannelId, Seq>,
    /// When this session last relayed `typing` per channel: at most one per
    /// [`TYPING_EVERY`], so a chatty client cannot flood its channel-mates' queues.
    typing: HashMap<ChannelId, Instant>,
    /// When the client was last heard from, and how long it may be silent.
    heard: Instant,
    idle_after: Option<Duration>,
}

/// Runs a session to its end. `user` is already authenticated.
pub async fn serve<R, W>(
    state: AppState,
    user: User,
    token_hash: String,
    resume: Resume,
    mut input: R,
    output: W,
    settings: Settings,
) where
    R: Stream<Item = Inbound> + Unpin,
    W: Sink<Outbound> + Unpin,
{
    let first = match state.chat.my_channels(user.id).await {
        Ok(channels) => channels,
        Err(error) => return Box::pin(refuse(output, &error)).await,
    };
    let following: Vec<ChannelId> = first.iter().map(|c| c.channel.id).collect();
    let dms = match super::presence::dms(&state.chat, user.id, &first).await {
        Ok(dms) => dms,
        Err(error) => return Box::pin(refuse(output, &error)).await,
    };
    let (link, mut queue, online) = state.hub.register(user.id, token_hash, &following, &dms);
    let mut session = Session {
        state: state.clone(),
        user,
        link,
        output,
        delivered: HashMap::new(),
        typing: HashMap::new(),
        heard: Instant::now(),
        idle_after: settings.idle_after,
    };
    // Boxed, as every rare path below: the session's future lives as long
    // as the socket, and its size is the largest of its states.
    let exit = match Box::pin(session.start(&following, &online, &resume)).await {
        Ok(()) => session.run(&mut queue, &mut input, &settings).await,
        Err(exit) => exit,
    };
    Box::pin(session.end(exit)).await;
}

/// The reason of the close frame that ends a silent session.
const SILENT_REASON: &str = "no answer to pings";

/// What the session does next, after its `select!`.
enum Step {
    Write(Vec<Outbound>),
    /// Deliveries are waiting in the batch buffer.
    Deliver,
    Text(String),
    Close(CloseCode, &'static str),
}

/// Why a session ends, and so what it says last.
enum Exit {
    /// The client closed, or its socket is gone: nothing more to say.
    Gone,
    Close(CloseCode, &'static str),
    /// The store failed: an `error` frame, then 1011 so the client resumes.
    Failed(Error),
}

impl From<Error> for Exit {
    fn from(error: Error) -> Self {
        Exit::Failed(error)
    }
}

type Reply = futures::future::BoxFuture<'static, ServerFrame>;

impl<W: Sink<Outbound> + Unpin> Session<W> {
    /// Serves the session until it ends, and says why.
    async fn run<R>(
        &mut self,
        queue: &mut tokio::sync::mpsc::Receiver<Delivery>,
        input: &mut R,
        settings: &Settings,
    ) -> Exit
    where
        R: Stream<Item = Inbound> + Unpin,
    {
        let mut in_flight = FuturesUnordered::new();
        // One timer for the ping and the liveness deadline, set to whichever
        // comes first. A frame heard only moves `heard`: the timer learns of it
        // when it next wakes, so reading costs no timer reset.
        let mut next_ping = Instant::now() + settings.ping_every;
        let clock = tokio::time::sleep_until(self.wake_at(next_ping));
        tokio::pin!(clock);
        // Empty until something comes, and emptied again after each write: an
        // idle session holds no batch buffer.
        let mut batch = Vec::new();
        // Made once: a `cancelled()` made on every turn takes the token's lock
        // and joins its waiters again each time the session wakes.
        let closed = self.link.closed.clone().cancelled_owned();
        tokio::pin!(closed);
        loop {
            // What woke the session; each is then handled at one await point.
            let step = tokio::select! {
                biased;
                () = &mut closed => Step::Close(self.link.close_code(), "closed by the server"),
                Some(answer) = in_flight.next(), if !in_flight.is_empty() => {
                    Step::Write(vec![Outbound::Frame(Frame::new(&answer))])
                }
                received = queue.recv_many(&mut batch, WRITE_BATCH) => {
                    if received == 0 { break Exit::Gone; }
                    Step::Deliver
                }
                frame = input.next(), if in_flight.len() < MAX_IN_FLIGHT => {
                    self.heard = Instant::now();
                    match frame {
                        None | Some(Inbound::Closed) => break Exit::Gone,
                        Some(Inbound::TooLarge) => Step::Close(CloseCode::TooLarge, "frame too large"),
                        Some(Inbound::Broken) => Step::Close(CloseCode::ProtocolError, "protocol error"),
                        Some(Inbound::BadData) => Step::Close(CloseCode::BadData, "invalid UTF-8"),
                        Some(Inbound::Alive) => continue,
                        Some(Inbound::Binary) => {
                            let error = Error::bad_request("binary frames are not supported; send JSON text");
                            Step::Write(vec![error_frame(None, &error)])
                        }
                        Some(Inbound::Text(text)) => Step::Text(text),
                    }
                }
                () = &mut clock => {
                    let now = Instant::now();
                    if self.silent_too_long(now) {
                        Step::Close(CloseCode::GoingAway, SILENT_REASON)
                    } else {
                        let ping = now >= next_ping;
                        if ping {
                            next_ping = now + settings.ping_every;
                        }
                        clock.as_mut().reset(self.wake_at(next_ping));
                        if !ping {
                            continue;
                        }
                        Step::Write(vec![Outbound::Ping])
                    }
                }
            };
            let out = match step {
                Step::Write(frames) => frames,
                Step::Deliver => {
                    let mut out = Vec::with_capacity(batch.len());
                    let mut failed = None;
                    for delivery in batch.drain(..) {
                        if let Err(error) = self.on_delivery(delivery, &mut out).await {
                            failed = Some(error);
                            break;
                        }
                    }
                    batch.shrink_to(0);
                    if let Some(error) = failed {
                        break Exit::Failed(error);
                    }
                    out
                }
                Step::Text(text) => self.on_text(&text, &mut in_flight).await.into_iter().collect(),
                Step::Close(code, reason) => break Exit::Close(code, reason),
            };
            if let Err(exit) = self.write(out).await {
                break exit;
            }
        }
    }

    /// When the client will have been silent too long, if it may be.
    fn deadline(&self) -> Option<Instant> {
        self.idle_after.map(|idle| self.heard + idle)
    }

    fn silent_too_long(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|deadline| now >= deadline)
    }

    /// When the session's clock next wakes: the ping, or the deadline if sooner.
    fn wake_at(&self, next_ping: Instant) -> Instant {
        self.deadline().map_or(next_ping, |deadline| deadline.min(next_ping))
    }

    /// Writes `frames` and flushes once; gives up, with why, if the client is
    /// gone, or the session is asked to close, or the client's liveness
    /// deadline passes while the write is stuck: a peer whose network
    /// dropped silently stops taking bytes once the socket's buffers are
    /// full, and is not heard from meanwhile (nothing is read while writing).
    async fn write(&mut self, frames: Vec<Outbound>) -> Result<(), Exit> {
        if frames.is_empty() {
            return Ok(());
        }
        let closed = self.link.closed.clone();
        let deadline = self.deadline();
        let output = &mut self.output;
        let write = async move {
            for frame in frames {
                output.feed(frame).await.map_err(|_| ())?;
            }
            output.flush().await.map_err(|_| ())
        };
        // Made only if the write does not finish at once: no timer otherwise.
        let silent = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        // The write first: most complete at once, and then neither the token
        // nor the deadline is polled.
        tokio::select! {
            biased;
            result = write => result.map_err(|()| Exit::Gone),
            () = closed.cancelled() => Err(Exit::Close(self.link.close_code(), "closed by the server")),
            () = silent => Err(Exit::Close(CloseCode::GoingAway, SILENT_REASON)),
        }
    }

    /// The one way out: leaves the hub, says why, and flushes. Leaving comes
    /// first: the close frame may wait up to [`CLOSE_GRACE`] on a peer that
    /// does not read, and the user's presence going offline must not wait
    /// with it.
    async fn end(&mut self, exit: Exit) {
        self.state.hub.unregister(self.link.id);
        let close = match exit {
            Exit::Gone => None,
            Exit::Close(code, reason) => Some((code, reason)),
            Exit::Failed(error) => {
                let frame = error_frame(None, &error);
                let _ = tokio::time::timeout(CLOSE_GRACE, self.output.send(frame)).await;
                Some((CloseCode::ServerError, "server error, resume"))
            }
        };
        if let Some((code, reason)) = close {
            let _ = tokio::time::timeout(CLOSE_GRACE, self.output.send(Outbound::Close(code, reason))).await;
        }
        // Flushes what is still queued, such as the transport's answer to a
        // client's close frame, so the closing handshake completes.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.output.close()).await;
    }
}

pub fn error_frame(reference: Option<serde_json::Value>, error: &Error) -> Outbound {
    let frame = ServerFrame::Error { reference, code: error.code.as_str().into(), message: public_message(error) };
    Outbound::Frame(Frame::new(&frame))
}

/// Tells a client we could not start its session, and closes.
async fn refuse<W: Sink<Outbound> + Unpin>(mut output: W, error: &Error) {
    let _ = tokio::time::timeout(CLOSE_GRACE, output.send(error_frame(None, error))).await;
    let code =
        if error.code == ErrorCode::Unauthenticated { CloseCode::Unauthenticated } else { CloseCode::ServerError };
    let _ = tokio::time::timeout(CLOSE_GRACE, output.send(Outbound::Close(code, "cannot start the session"))).await;
}

/// A channel as `user` is shown it: as their list shows it (role,
/// preferences, counts) when they are a member, else as anyone may see it;
/// a DM with its people.
pub async fn channel_body(state: &AppState, user: UserId, channel: &Channel) -> Result<wire::Channel, Error> {
    match state.chat.my_channel(user, channel.id).await? {
        Some(mine) => {
            let people = state.chat.dm_people(&mine.channel).await?;
            Ok(wire::Channel::from(&mine).with_members(people))
        }
        None => {
            let people = state.chat.dm_people(channel).await?;
            Ok(wire::Channel::from(channel).with_members(people))
        }
    }
}

/// My channels as `ready` and `GET /api/v1/channels` show them.
pub async fn channel_bodies(state: &AppState, channels: &[MyChannel]) -> Result<Vec<wire::Channel>, Error> {
    let mut bodies = Vec::with_capacity(channels.len());
    for entry in channels {
        let people = state.chat.dm_people(&entry.channel).await?;
        bodies.push(wire::Channel::from(entry).with_members(people));
    }
    Ok(bodies)
}

#[cfg(test)]
mod tests;
