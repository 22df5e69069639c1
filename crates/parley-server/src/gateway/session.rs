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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{Sink, SinkExt, Stream, StreamExt};
use parley_core::chat::{Submitted, Via};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{MyChannel, User};
use parley_core::parse::{parse_seq, Seq};
use parley_core::time::Timestamp;
use parley_core::{Error, ErrorCode};
use parley_protocol::{self as wire, ClientFrame, ServerFrame};
use tokio::time::Instant;

use super::close::CloseCode;
use super::hub::{Delivery, EventFrame, Frame, SessionLink};
use crate::http::error::public_message;
use crate::rate::Class;
use crate::send::{self, NewMessage};
use crate::state::AppState;

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

/// The least time between two relayed `typing` frames of one session in one channel.
const TYPING_EVERY: Duration = Duration::from_secs(1);

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

type Answer = futures::future::BoxFuture<'static, ServerFrame>;

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

    /// `ready`, who is online, then the replay of each resumed channel.
    async fn start(&mut self, following: &[ChannelId], online: &[UserId], resume: &Resume) -> Result<(), Exit> {
        // Read again now that the hub delivers to us: any event after these
        // `last_seq`s reaches us live.
        let channels = self.state.chat.my_channels(self.user.id).await?;
        let before: HashSet<&ChannelId> = following.iter().collect();
        let late: Vec<ChannelId> = channels.iter().map(|c| c.channel.id).filter(|id| !before.contains(id)).collect();
        for entry in channels.iter().filter(|c| !before.contains(&c.channel.id)) {
            self.state.hub.subscribe(self.link.id, &entry.channel);
        }
        let ready =
            ServerFrame::Ready { user: (&self.user).into(), channels: channel_bodies(&self.state, &channels).await? };
        let mut out = vec![Outbound::Frame(Frame::new(&ready))];
        // In cluster mode the people online are those of every node.
        let everywhere = match &self.state.presence {
            Some(presence) => {
                match super::presence::online_neighbours(presence.as_ref(), &self.state.chat, self.user.id).await {
                    Ok(users) => users,
                    Err(error) => {
                        // Presence is a courtesy: the session goes on without it.
                        tracing::warn!(error = %error, "presence unavailable at connect");
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        let online: HashSet<&UserId> = online.iter().chain(&everywhere).collect();
        for user in online {
            let frame = ServerFrame::Presence { user_id: user.to_string(), status: "online".into() };
            out.push(Outbound::Frame(Frame::new(&frame)));
        }
        for entry in &channels {
            let (id, last) = (entry.channel.id, entry.channel.last_seq);
            match resume.get(&id) {
                Some(from) if *from < last => self.replay(id, *from, last, &mut out).await?,
                _ => {
                    self.delivered.insert(id, last);
                }
            }
        }
        // A channel joined between the two reads may have moved on meanwhile.
        for id in late {
            let last = self.delivered.get(&id).copied().unwrap_or(0);
            let head = self.state.chat.followed_channel(id).await?.map_or(last, |c| c.last_seq);
            if head > last {
                self.replay(id, last, head, &mut out).await?;
            }
        }
        self.write(out).await
    }

    /// Events `after+1 ..= through` of `channel`: up to [`REPLAY_INLINE`]
    /// inline, then one `gap` for the rest.
    async fn replay(
        &mut self,
        channel: ChannelId,
        after: Seq,
        through: Seq,
        out: &mut Vec<Outbound>,
    ) -> Result<(), Error> {
        let inline_end = through.min(after + REPLAY_INLINE);
        let mut sent = after;
        while sent < inline_end {
            let want = u32::try_from((inline_end - sent).min(500)).unwrap_or(500);
            let page = self.state.chat.followed_events(channel, sent, want).await?;
            if page.is_empty() {
                break;
            }
            for event in page.iter().filter(|e| e.seq <= inline_end) {
                out.push(Outbound::Frame(Frame::new(&ServerFrame::Event { event: event.into() })));
                sent = event.seq;
            }
        }
        if through > sent {
            let gap = ServerFrame::Gap { channel_id: channel.to_string(), after_seq: sent, through_seq: through };
            out.push(Outbound::Frame(Frame::new(&gap)));
            sent = through;
        }
        self.delivered.insert(channel, sent);
        Ok(())
    }

    async fn on_delivery(&mut self, delivery: Delivery, out: &mut Vec<Outbound>) -> Result<(), Error> {
        match delivery {
            Delivery::Frame(frame) => out.push(Outbound::Frame(Frame::clone(&frame))),
            Delivery::Event(event) => self.on_event(&event, out).await?,
        }
        Ok(())
    }

    async fn on_event(&mut self, event: &EventFrame, out: &mut Vec<Outbound>) -> Result<(), Error> {
        let me = self.user.id;
        let last = match (self.delivered.get(&event.channel), event.membership) {
            (Some(last), _) => *last,
            (None, Some((user, true))) if user == me => {
                // Joined elsewhere: by invite on another device, a new DM, a new channel.
                Box::pin(self.channel_added(event.channel, out)).await?;
                event.seq - 1
            }
            // Not a channel this session follows (a leave raced this event).
            (None, _) => return Ok(()),
        };
        if event.seq <= last {
            return Ok(());
        }
        if event.seq > last + 1 {
            Box::pin(self.replay(event.channel, last, event.seq - 1, out)).await?;
        }
        out.push(Outbound::Frame(event.frame.clone()));
        self.delivered.insert(event.channel, event.seq);
        self.state.metrics.delivered_after(Timestamp::now().millis() - event.created_at_ms);
        if event.membership == Some((me, false)) {
            self.delivered.remove(&event.channel);
            let removed = ServerFrame::ChannelRemoved { channel_id: event.channel.to_string() };
            out.push(Outbound::Frame(Frame::new(&removed)));
        }
        Ok(())
    }

    async fn channel_added(&self, id: ChannelId, out: &mut Vec<Outbound>) -> Result<(), Error> {
        if let Some(channel) = self.state.chat.followed_channel(id).await? {
            self.state.hub.learned(&channel);
            let people = self.state.chat.dm_people(&channel).await?;
            let body = wire::Channel::from(&channel).with_members(people);
            out.push(Outbound::Frame(Frame::new(&ServerFrame::ChannelAdded { channel: body })));
        }
        Ok(())
    }

    /// Handles one client frame; returns an immediate answer if it has one.
    async fn on_text(&mut self, text: &str, in_flight: &mut FuturesUnordered<Answer>) -> Option<Outbound> {
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(error) => return Some(error_frame(None, &error.into())),
        };
        match frame {
            ClientFrame::Hello { .. } => Some(error_frame(None, &Error::bad_request("hello was already said"))),
            ClientFrame::Ping { reference } => Some(Outbound::Frame(Frame::new(&ServerFrame::Pong { reference }))),
            ClientFrame::Typing { channel_id } => {
                let Ok(channel) = channel_id.parse::<ChannelId>() else { return None };
                // Only channels this session follows, so the map stays bounded.
                if self.delivered.contains_key(&channel)
                    && self.typing.get(&channel).is_none_or(|at| at.elapsed() >= TYPING_EVERY)
                {
                    self.typing.insert(channel, Instant::now());
                    self.state.hub.typing(self.link.id, self.user.id, channel);
                }
                None
            }
            ClientFrame::Read { channel_id, seq } => {
                let result = async {
                    let channel = channel_id.parse::<ChannelId>().map_err(|_| Error::not_found("channel not found"))?;
                    let seq = parse_seq(seq, "seq")?;
                    self.state.rates.user(Class::ReadMarkers, self.user.id)?;
                    self.state.chat.mark_read(self.user.id, channel, seq).await
                };
                match Box::pin(result).await {
                    // This session learns it through the hub too, like the user's others.
                    Ok(Some(marker)) => {
                        self.state.hub.read_marker(self.user.id, marker);
                        None
                    }
                    Ok(None) => None,
                    Err(error) => Some(error_frame(None, &error)),
                }
            }
            ClientFrame::Send { reference, channel_id, client_msg_id, body, reply_to_seq } => {
                let parsed = (|| {
                    let channel = channel_id.parse::<ChannelId>().map_err(|_| Error::not_found("channel not found"))?;
                    Ok::<_, Error>((channel, NewMessage::parse(&body, &client_msg_id, reply_to_seq)?))
                })();
                match parsed {
                    Err(error) => Some(error_frame(Some(reference), &error)),
                    Ok((channel, message)) => {
                        let via = Via::Session { follows_through: self.delivered.get(&channel).copied() };
                        let (chat, user) = (self.state.chat.clone(), self.user.id);
                        let budget = self.state.rates.user(Class::Messages, user);
                        in_flight.push(Box::pin(async move {
                            let id = message.client_msg_id.as_str().to_owned();
                            let posted = send::post(&chat, budget, user, channel, message, via).await;
                            answer(reference, id, posted)
                        }));
                        None
                    }
                }
            }
        }
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

/// The answer to one `send`.
fn answer(reference: serde_json::Value, id: String, posted: Result<Submitted, Error>) -> ServerFrame {
    match posted {
        Ok(Submitted::Stored(posted)) => {
            ServerFrame::Ack { reference, client_msg_id: id, status: "stored".into(), seq: Some(posted.event.seq) }
        }
        // Cluster mode: durable in the command log; the event follows live.
        Ok(Submitted::Accepted) => {
            ServerFrame::Ack { reference, client_msg_id: id, status: "accepted".into(), seq: None }
        }
        Err(error) => ServerFrame::Error {
            reference: Some(reference),
            code: error.code.as_str().into(),
            message: public_message(&error),
        },
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
mod tests {
    //! The session over in-memory channels: no socket, the real store.
    use super::*;
    use crate::{Application, Config};
    use futures::channel::mpsc;
    use parley_core::model::ChannelKind;
    use parley_core::parse::{Body, ChannelName, ClientMsgId, Password, Username};
    use serde_json::{json, Value};

    struct Rig {
        state: AppState,
        user: User,
        token_hash: String,
        _dir: tempfile::TempDir,
    }

    async fn rig() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().into(),
            send_rate: 0,
            ..Config::default()
        };
        let state = Application::build(config).await.unwrap().state();
        let (user, token) = state
            .auth
            .register(Username::parse("alice").unwrap(), Password::parse("long enough").unwrap(), None)
            .await
            .unwrap();
        let (_, token_hash) = state.auth.authenticate(&token).await.unwrap();
        Rig { state, user, token_hash, _dir: dir }
    }

    /// Starts a session; returns what to feed it and what it wrote.
    fn start(rig: &Rig, resume: Resume) -> (mpsc::Sender<Inbound>, mpsc::Receiver<Outbound>) {
        let (input, inbound) = mpsc::channel(16);
        let (outbound, output) = mpsc::channel(4096);
        let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: None };
        tokio::spawn(serve(
            rig.state.clone(),
            rig.user.clone(),
            rig.token_hash.clone(),
            resume,
            inbound,
            outbound,
            settings,
        ));
        (input, output)
    }

    async fn next(output: &mut mpsc::Receiver<Outbound>) -> Value {
        loop {
            let out = tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap().unwrap();
            if let Outbound::Frame(frame) = out {
                return serde_json::from_str(frame.text.as_str()).unwrap();
            }
        }
    }

    async fn channel_with_messages(rig: &Rig, count: usize) -> ChannelId {
        let name = ChannelName::parse("general").unwrap();
        let channel = rig.state.chat.create_channel(rig.user.id, name, ChannelKind::Public, None).await.unwrap();
        for i in 0..count {
            let id = ClientMsgId::parse(&format!("m{i}")).unwrap();
            rig.state
                .chat
                .post(
                    rig.user.id,
                    channel.id,
                    id,
                    Body::parse("hi").unwrap(),
                    None,
                    Via::Session { follows_through: None },
                )
                .await
                .unwrap()
                .stored()
                .unwrap();
        }
        channel.id
    }

    #[tokio::test]
    async fn ready_then_replay_then_answers() {
        let rig = rig().await;
        let channel = channel_with_messages(&rig, 3).await;
        let (mut input, mut output) = start(&rig, Resume::from([(channel, 1)]));
        let ready = next(&mut output).await;
        assert_eq!((&ready["type"], &ready["channels"][0]["last_seq"]), (&json!("ready"), &json!(4)));
        for seq in 2..=4 {
            assert_eq!(next(&mut output).await["event"]["seq"], seq);
        }
        input.send(Inbound::Text(r#"{"type":"ping","ref":9}"#.into())).await.unwrap();
        assert_eq!(next(&mut output).await, json!({"type": "pong", "ref": 9}));
        input.send(Inbound::Text("nonsense".into())).await.unwrap();
        assert_eq!(next(&mut output).await["code"], "bad_request");
        input.send(Inbound::Binary).await.unwrap();
        assert_eq!(next(&mut output).await["code"], "bad_request");
        input.send(Inbound::TooLarge).await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap();
        assert!(matches!(closed, Some(Outbound::Close(CloseCode::TooLarge, _))));
    }

    #[tokio::test]
    async fn live_events_are_deduplicated_and_holes_refilled_from_the_store() {
        let rig = rig().await;
        let channel = channel_with_messages(&rig, 0).await;
        let (_input, mut output) = start(&rig, Resume::new());
        assert_eq!(next(&mut output).await["type"], "ready");
        let mut stored = Vec::new();
        for i in 0..3 {
            let id = ClientMsgId::parse(&format!("n{i}")).unwrap();
            let posted = rig
                .state
                .chat
                .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Via::Session { follows_through: None })
                .await
                .unwrap()
                .stored()
                .unwrap();
            stored.push(posted.event);
        }
        // The hub hands over seq 4 first (2 and 3 never came live), then 2 again.
        rig.state.hub.deliver(&stored[2..]);
        rig.state.hub.deliver(&stored[..1]);
        rig.state.hub.deliver(&stored[2..]);
        for seq in 2..=4 {
            assert_eq!(next(&mut output).await["event"]["seq"], seq);
        }
        let id = ClientMsgId::parse("last").unwrap();
        let last = rig
            .state
            .chat
            .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Via::Session { follows_through: None })
            .await
            .unwrap()
            .stored()
            .unwrap();
        rig.state.hub.deliver(&[last.event]);
        assert_eq!(next(&mut output).await["event"]["seq"], 5, "nothing was sent twice");
    }

    #[tokio::test]
    async fn pings_then_closes_a_silent_client() {
        let rig = rig().await;
        let (input, inbound) = mpsc::channel(16);
        let (outbound, mut output) = mpsc::channel(64);
        let settings = Settings { ping_every: Duration::from_millis(50), idle_after: Some(Duration::from_millis(200)) };
        tokio::spawn(serve(
            rig.state.clone(),
            rig.user.clone(),
            rig.token_hash.clone(),
            Resume::new(),
            inbound,
            outbound,
            settings,
        ));
        let (mut pings, mut close) = (0, None);
        while let Ok(Some(out)) = tokio::time::timeout(Duration::from_secs(5), output.next()).await {
            match out {
                Outbound::Ping => pings += 1,
                Outbound::Close(code, _) => {
                    close = Some(code);
                    break;
                }
                Outbound::Frame(_) => {}
            }
        }
        assert!(pings >= 2, "{pings} pings");
        assert_eq!(close, Some(CloseCode::GoingAway));
        drop(input);
    }

    #[tokio::test]
    async fn a_silent_client_is_closed_at_its_deadline_not_at_the_next_ping() {
        let rig = rig().await;
        let (_input, inbound) = mpsc::channel::<Inbound>(16);
        let (outbound, mut output) = mpsc::channel(64);
        let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: Some(Duration::from_millis(200)) };
        let started = Instant::now();
        tokio::spawn(serve(
            rig.state.clone(),
            rig.user.clone(),
            rig.token_hash.clone(),
            Resume::new(),
            inbound,
            outbound,
            settings,
        ));
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap() {
                Some(Outbound::Close(code, _)) => break code,
                Some(_) => {}
                None => panic!("ended without a close"),
            }
        };
        assert_eq!(close, CloseCode::GoingAway);
        assert!(started.elapsed() < Duration::from_secs(2), "closed after {:?}", started.elapsed());
    }

    /// A peer whose network dropped takes no more bytes: the session's write
    /// is stuck, it reads nothing, and still its user goes offline for the
    /// others at the deadline, before the close frame (which never gets out).
    #[tokio::test]
    async fn a_client_that_stops_reading_goes_offline_at_its_deadline() {
        let rig = rig().await;
        let channel = channel_with_messages(&rig, 0).await;
        let bob = UserId::generate();
        let (_, mut bobs_queue, _) = rig.state.hub.register(bob, "t".into(), &[channel], &Default::default());
        let (_input, inbound) = mpsc::channel::<Inbound>(16);
        // Room for `ready` and a frame or two; the rest waits on a reader that never comes.
        let (outbound, mut output) = mpsc::channel(1);
        let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: Some(Duration::from_millis(300)) };
        tokio::spawn(serve(
            rig.state.clone(),
            rig.user.clone(),
            rig.token_hash.clone(),
            Resume::new(),
            inbound,
            outbound,
            settings,
        ));
        assert_eq!(next(&mut output).await["type"], "ready");
        let mut events = Vec::new();
        for i in 0..16 {
            let id = ClientMsgId::parse(&format!("s{i}")).unwrap();
            let posted =
                rig.state.chat.post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Via::Rest).await;
            events.push(posted.unwrap().stored().unwrap().event);
        }
        let started = Instant::now();
        rig.state.hub.deliver(&events);
        let offline = format!(r#"{{"type":"presence","user_id":"{}","status":"offline"}}"#, rig.user.id);
        loop {
            let delivery = tokio::time::timeout(Duration::from_secs(5), bobs_queue.recv()).await.unwrap().unwrap();
            if matches!(&delivery, Delivery::Frame(frame) if frame.text.as_str() == offline) {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(2), "offline after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_full_queue_closes_the_session_with_1008() {
        let rig = rig().await;
        let channel = channel_with_messages(&rig, 0).await;
        let (_input, mut output) = start(&rig, Resume::new());
        assert_eq!(next(&mut output).await["type"], "ready");
        // Never read the output again: the session blocks writing, its hub queue fills.
        let id = ClientMsgId::parse("m").unwrap();
        let event = rig
            .state
            .chat
            .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Via::Session { follows_through: None })
            .await
            .unwrap()
            .stored()
            .unwrap()
            .event;
        let flood: Vec<_> = (0..crate::gateway::hub::SESSION_QUEUE + 4200).map(|_| event.clone()).collect();
        rig.state.hub.deliver(&flood);
        let mut saw_close = false;
        while let Ok(Some(out)) = tokio::time::timeout(Duration::from_secs(5), output.next()).await {
            if let Outbound::Close(code, _) = out {
                assert_eq!(code, CloseCode::Overflow);
                saw_close = true;
                break;
            }
        }
        assert!(saw_close);
    }
}
