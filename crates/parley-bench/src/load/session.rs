//! One WebSocket session of a run: connects, says `hello`, then reads every
//! frame (deliveries, acks, errors) and, if it is a sender, sends as its flow
//! allows, until the run tells it to stop. All it saw comes back as a
//! [`Tally`]; what everyone must see live goes into [`Shared`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::changes::{self, Done, Targets, Via, CHANGE_REFS};
use super::check::{Delivery, Outcome, SenderLog};
use super::client::{self, Ws};
use super::plan::{Flow, Plan, Protocol, SendPlan, SERVER_IN_FLIGHT};
use super::shared::{Completion, Phase, Shared};
use super::stats::Samples;
use super::wire;

/// How a session ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum End {
    /// Told to stop by the run.
    #[default]
    Stopped,
    /// The server closed it, with this code.
    Closed(Option<u16>),
    /// The connection broke.
    Broken(String),
    /// It never got to `ready`.
    Refused(String),
}

/// Everything a session saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub deliveries: Vec<Delivery>,
    pub sender: Option<(u32, SenderLog)>,
    pub seq_gaps: u64,
    pub seq_regressions: u64,
    /// Error frames by code, and other oddities by name.
    pub errors: BTreeMap<String, u64>,
    pub end: End,
}

/// Runs one session to its end.
pub async fn run(
    plan: Plan,
    addr: SocketAddr,
    url: Arc<str>,
    shared: Arc<Shared>,
    phases: mpsc::Receiver<Phase>,
) -> Tally {
    let opened = async {
        let _permit = shared.connect_gate.acquire().await;
        let mut ws = client::connect(addr, &url, plan.source).await?;
        let heads = match shared.protocol {
            Protocol::Parley => client::hello(&mut ws, plan.token.clone(), None).await?,
            Protocol::Bare => HashMap::new(),
        };
        anyhow::Ok((ws, heads))
    };
    let (ws, heads) = match opened.await {
        Ok(opened) => opened,
        Err(error) => {
            shared.counters.ended_early.fetch_add(1, Relaxed);
            return Tally { end: End::Refused(format!("{error:#}")), ..Tally::default() };
        }
    };
    shared.counters.ready.fetch_add(1, Relaxed);
    let mut session = Session::new(plan, heads, shared.clone());
    session.drive(ws, phases).await;
    if session.tally.end != End::Stopped {
        shared.counters.ended_early.fetch_add(1, Relaxed);
    }
    session.finish()
}

/// A sender's state.
struct Sender {
    plan: SendPlan,
    channel_json: String,
    log: SenderLog,
    /// Unanswered sends: n → sent_ns.
    pending: HashMap<u64, u64>,
    /// Operations drawn so far, messages and changes.
    ops: u64,
    /// Its own stored messages, to edit and react to.
    targets: Targets,
    /// Edits and reactions not yet answered; those made on the socket by
    /// number, with when they were sent; where REST answers come.
    changes_in_flight: usize,
    socket_changes: HashMap<u64, u64>,
    token: String,
    done: mpsc::UnboundedSender<Done>,
}

struct Session {
    shared: Arc<Shared>,
    /// Per channel, the last seq received.
    heads: HashMap<String, i64>,
    sender: Option<Sender>,
    deliver: Samples,
    ack: Samples,
    change: Samples,
    /// Answers to this sender's edits and reactions.
    done: Option<mpsc::UnboundedReceiver<Done>>,
    /// A sender that has stopped sending for good.
    stopped: bool,
    tally: Tally,
}

impl Session {
    fn new(plan: Plan, heads: HashMap<String, i64>, shared: Arc<Shared>) -> Session {
        // Only a sender makes changes, so only a sender has answers to wait for.
        let (sender, done) = match plan.send {
            Some(send) => {
                let (done_tx, done_rx) = mpsc::unbounded_channel();
                let sender = Sender {
                    channel_json: serde_json::Value::from(send.channel_id.as_str()).to_string(),
                    log: SenderLog { members: send.members, ..SenderLog::default() },
                    pending: HashMap::new(),
                    ops: 0,
                    targets: Targets::default(),
                    changes_in_flight: 0,
                    socket_changes: HashMap::new(),
                    token: plan.token.clone().unwrap_or_default(),
                    done: done_tx,
                    plan: send,
                };
                (Some(sender), Some(done_rx))
            }
            None => (None, None),
        };
        Session {
            done,
            shared,
            heads,
            sender,
            deliver: Samples::new(),
            ack: Samples::new(),
            change: Samples::new(),
            stopped: false,
            tally: Tally::default(),
        }
    }

    /// Reads and sends until told to stop or the connection goes.
    async fn drive(&mut self, mut ws: Ws, mut phases: mpsc::Receiver<Phase>) {
        let shared = self.shared.clone();
        let mut sending = false;
        let mut pacer: Option<Interval> = None;
        let paced = matches!(self.sender.as_ref().map(|s| s.plan.flow), Some(Flow::Paced { .. }));
        let completion = self.completion_index().and_then(|i| shared.completions.get(i));
        let mut answers = self.done.take();
        loop {
            let room = self.room();
            tokio::select! {
                phase = phases.recv() => match phase {
                    Some(Phase::Go) if self.sender.is_some() => {
                        sending = true;
                        pacer = self.pacer();
                    }
                    Some(Phase::Go) => {}
                    Some(Phase::StopSending) => {
                        if self.sender.is_some() && !self.stopped {
                            self.stopped = true;
                            shared.counters.senders_stopped.fetch_add(1, Relaxed);
                        }
                        sending = false;
                    }
                    Some(Phase::Stop) | None => break,
                },
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.on_text(text.as_str()),
                    Some(Ok(Message::Close(close))) => {
                        self.tally.end = End::Closed(close.map(|c| u16::from(c.code)));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        self.tally.end = End::Broken(error.to_string());
                        break;
                    }
                    None => {
                        self.tally.end = End::Broken("the connection ended".into());
                        break;
                    }
                },
                scheduled = tick(&mut pacer), if sending && (paced || room > 0) => {
                    let burst = if paced { room.min(1) } else { room };
                    if burst == 0 {
                        shared.counters.stalls.fetch_add(1, Relaxed);
                    } else if let Err(error) = self.send(&mut ws, burst, scheduled).await {
                        self.tally.end = End::Broken(format!("sending: {error}"));
                        break;
                    }
                }
                () = wait_for(completion), if sending && room == 0 && completion.is_some() => {}
                Some(done) = next_answer(&mut answers) => self.on_change(done),
            }
        }
        if self.tally.end == End::Stopped {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
        }
    }

    fn completion_index(&self) -> Option<usize> {
        let sender = self.sender.as_ref()?;
        matches!(sender.plan.flow, Flow::Completions { .. }).then_some(sender.plan.sender as usize)
    }

    /// How many more sends the flow allows now.
    fn room(&self) -> usize {
        let Some(sender) = &self.sender else { return 0 };
        let unanswered = sender.pending.len() + sender.changes_in_flight;
        match sender.plan.flow {
            Flow::Acks { window } | Flow::Paced { window, .. } => window.saturating_sub(unanswered),
            Flow::Completions { window } => {
                let done = self.shared.completions.get(sender.plan.sender as usize).map_or(0, Completion::done);
                let incomplete = (sender.log.sent_ns.len() as u64).saturating_sub(done);
                let by_delivery = (window as u64).saturating_sub(incomplete) as usize;
                by_delivery.min(SERVER_IN_FLIGHT.saturating_sub(unanswered))
            }
        }
    }

    /// The interval of a paced sender, its first tick `offset` from now. A
    /// tick that comes late is not skipped: the ticks missed fire at once,
    /// so the sender keeps to its schedule (and a late send is counted).
    fn pacer(&self) -> Option<Interval> {
        let Flow::Paced { period, offset, .. } = self.sender.as_ref()?.plan.flow else { return None };
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        Some(interval)
    }

    /// Writes `count` messages, then flushes once. A paced send is timed
    /// from when it was `scheduled`, not from when it went out: a client
    /// that fell behind must not hide the wait from the latencies
    /// (coordinated omission).
    async fn send(
        &mut self,
        ws: &mut Ws,
        count: usize,
        scheduled: Option<Instant>,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let Some(sender) = self.sender.as_mut() else { return Ok(()) };
        let counters = &self.shared.counters;
        let now = Instant::now();
        if scheduled.is_some_and(|at| now.duration_since(at) > LATE) {
            counters.late.fetch_add(1, Relaxed);
        }
        for _ in 0..count {
            let sent_ns = self.shared.ns_at(scheduled.unwrap_or(now));
            let (id, size) = (sender.plan.sender, sender.plan.body_size);
            let k = sender.ops;
            sender.ops += 1;
            let op = sender.plan.mix.pick(id, k);
            if let Some(request) = sender.targets.request(op, id, k, sent_ns) {
                match (sender.plan.mix.over, &self.shared.api) {
                    (Via::Rest, Some(api)) => {
                        let channel = sender.plan.channel_id.clone();
                        changes::spawn(
                            api.clone(),
                            sender.token.clone(),
                            channel,
                            request,
                            sent_ns,
                            sender.done.clone(),
                        );
                    }
                    _ => {
                        ws.feed(Message::Text(request.frame(&sender.plan.channel_id, k).into())).await?;
                        sender.socket_changes.insert(k, sent_ns);
                    }
                }
                sender.changes_in_flight += 1;
                counters.changes_sent.fetch_add(1, Relaxed);
                continue;
            }
            let n = sender.log.sent_ns.len() as u64;
            let text = match self.shared.protocol {
                Protocol::Parley => wire::send_frame(&sender.channel_json, id, n, sent_ns, size),
                Protocol::Bare => wire::bare_event(id, n, sent_ns, size),
            };
            ws.feed(Message::Text(text.into())).await?;
            sender.log.sent_ns.push(sent_ns);
            counters.sent.fetch_add(1, Relaxed);
            match self.shared.protocol {
                Protocol::Parley => {
                    sender.log.outcome.push(Outcome::Unknown);
                    sender.pending.insert(n, sent_ns);
                }
                // Nothing answers a bare send: it counts as acknowledged once written.
                Protocol::Bare => {
                    sender.log.outcome.push(Outcome::Ok);
                    counters.acked.fetch_add(1, Relaxed);
                    counters.owed.fetch_add(u64::from(sender.plan.members), Relaxed);
                }
            }
        }
        ws.flush().await
    }

    fn on_text(&mut self, text: &str) {
        self.shared.counters.frames.fetch_add(1, Relaxed);
        let frame: wire::Incoming = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(_) => return self.note("malformed frame"),
        };
        match frame.kind.as_ref() {
            "event" => {
                if let Some(event) = frame.event {
                    self.on_event(&event);
                }
            }
            "ack" if frame.reference.is_some_and(|r| r >= CHANGE_REFS) => {
                let changed = frame.status.as_deref() != Some("unchanged");
                self.on_socket_change(frame.reference, Ok(changed));
            }
            "ack" => self.on_answer(frame.reference, None),
            "error" => {
                self.shared.counters.error_frames.fetch_add(1, Relaxed);
                let code = frame.code.as_deref().unwrap_or("?").to_owned();
                self.note(&format!("error {code}"));
                match frame.reference {
                    Some(r) if r >= CHANGE_REFS => self.on_socket_change(frame.reference, Err(code)),
                    _ => self.on_answer(frame.reference, Some(code)),
                }
            }
            "gap" => self.note("gap frame"),
            _ => {}
        }
    }

    fn on_event(&mut self, event: &wire::IncomingEvent) {
        if self.shared.protocol == Protocol::Parley {
            self.follow_seq(&event.channel_id, event.seq);
        }
        match event.kind.as_ref() {
            "message" => {}
            "message_edited" | "reaction_added" => {
                self.shared.counters.change_deliveries.fetch_add(1, Relaxed);
                return;
            }
            _ => return,
        }
        let parsed = event.client_msg_id.as_deref().and_then(wire::parse_msg_id);
        let sent_ns = event.body.as_deref().and_then(wire::parse_body_ns);
        let (Some((sender, n)), Some(sent_ns)) = (parsed, sent_ns) else { return self.note("foreign message") };
        if let Some(mine) = self.sender.as_mut().filter(|s| s.plan.sender == sender && !s.plan.mix.is_plain()) {
            mine.targets.stored(event.seq);
        }
        if sender < self.shared.first_sender {
            // Its send time counts from an earlier run's epoch: no latency.
            return self.note("an earlier run's message");
        }
        let now = Instant::now();
        let latency_us = u32::try_from(self.shared.ns_at(now).saturating_sub(sent_ns) / 1000).unwrap_or(u32::MAX);
        let Ok(n32) = u32::try_from(n) else { return self.note("foreign message") };
        self.tally.deliveries.push(Delivery { sender, n: n32, latency_us });
        self.shared.counters.delivered.fetch_add(1, Relaxed);
        if sent_ns >= self.shared.window_start_ns() {
            self.deliver.push(latency_us, now, &self.shared.deliver);
        }
        if let Some(completion) = self.shared.completions.get(sender as usize) {
            completion.delivered(n);
        }
    }

    /// Seqs of one channel must rise by one: count skips and regressions.
    fn follow_seq(&mut self, channel: &str, seq: i64) {
        match self.heads.get_mut(channel) {
            Some(last) if seq > *last => {
                self.tally.seq_gaps += (seq - *last - 1) as u64;
                *last = seq;
            }
            Some(_) => self.tally.seq_regressions += 1,
            None => {
                self.heads.insert(channel.to_owned(), seq);
            }
        }
    }

    /// An `ack` (no code) or an `error` (its code) for send `reference`.
    fn on_answer(&mut self, reference: Option<u64>, error: Option<String>) {
        let Some(n) = reference else { return };
        let Some(sender) = self.sender.as_mut() else { return self.note("answer to no send") };
        let Some(sent_ns) = sender.pending.remove(&n) else { return self.note("answer to no send") };
        let counters = &self.shared.counters;
        let outcome = match error {
            None => {
                counters.acked.fetch_add(1, Relaxed);
                counters.owed.fetch_add(u64::from(sender.plan.members), Relaxed);
                let now = Instant::now();
                if sent_ns >= self.shared.window_start_ns() {
                    let us = u32::try_from(self.shared.ns_at(now).saturating_sub(sent_ns) / 1000).unwrap_or(u32::MAX);
                    self.ack.push(us, now, &self.shared.ack);
                }
                Outcome::Ok
            }
            Some(_) => {
                counters.failed.fetch_add(1, Relaxed);
                Outcome::Failed
            }
        };
        if let Some(slot) = usize::try_from(n).ok().and_then(|n| sender.log.outcome.get_mut(n)) {
            *slot = outcome;
        }
    }

    /// The `ack` or `error` of a `change` frame.
    fn on_socket_change(&mut self, reference: Option<u64>, result: Result<bool, String>) {
        let k = reference.unwrap_or(0) - CHANGE_REFS;
        let Some(sent_ns) = self.sender.as_mut().and_then(|s| s.socket_changes.remove(&k)) else {
            return self.note("answer to no change");
        };
        let us = u32::try_from(self.shared.ns_at(Instant::now()).saturating_sub(sent_ns) / 1000).unwrap_or(u32::MAX);
        self.on_change(Done { sent_ns, us, result });
    }

    /// The answer to an edit or a reaction.
    fn on_change(&mut self, done: Done) {
        let Some(sender) = self.sender.as_mut() else { return };
        sender.changes_in_flight = sender.changes_in_flight.saturating_sub(1);
        let counters = &self.shared.counters;
        match done.result {
            Ok(true) => {
                counters.changes_stored.fetch_add(1, Relaxed);
                counters.change_deliveries_owed.fetch_add(u64::from(sender.plan.members), Relaxed);
            }
            Ok(false) => {
                counters.changes_unchanged.fetch_add(1, Relaxed);
            }
            Err(error) => {
                counters.changes_failed.fetch_add(1, Relaxed);
                // The status and the server's error code, not the whole body.
                let short: String = error.chars().take(60).collect();
                self.note(&format!("change failed: {short}"));
            }
        }
        if done.sent_ns >= self.shared.window_start_ns() {
            self.change.push(done.us, Instant::now(), &self.shared.change);
        }
    }

    fn note(&mut self, what: &str) {
        *self.tally.errors.entry(what.to_owned()).or_default() += 1;
    }

    fn finish(mut self) -> Tally {
        if self.sender.is_some() && !self.stopped {
            self.shared.counters.senders_stopped.fetch_add(1, Relaxed);
        }
        self.deliver.pour(&self.shared.deliver);
        self.ack.pour(&self.shared.ack);
        self.change.pour(&self.shared.change);
        match &self.tally.end {
            End::Stopped => {}
            End::Closed(code) => {
                self.note(&format!("closed by the server ({})", code.map_or("no code".into(), |c| c.to_string())))
            }
            End::Broken(_) => self.note("connection broke"),
            End::Refused(_) => self.note("refused before ready"),
        }
        self.tally.sender = self.sender.take().map(|s| (s.plan.sender, s.log));
        self.tally
    }
}

/// A paced send written later than this after its scheduled time is late.
const LATE: Duration = Duration::from_millis(1);

/// The next tick of a paced sender, with when it was scheduled; at once
/// (and `None`) for the other flows.
async fn tick(pacer: &mut Option<Interval>) -> Option<Instant> {
    match pacer {
        Some(interval) => Some(interval.tick().await.into_std()),
        None => None,
    }
}

async fn next_answer(answers: &mut Option<mpsc::UnboundedReceiver<Done>>) -> Option<Done> {
    match answers {
        Some(answers) => answers.recv().await,
        None => std::future::pending().await,
    }
}

async fn wait_for(completion: Option<&Completion>) {
    match completion {
        Some(completion) => completion.changed().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, sender: u32, n: u64) -> String {
        let body = "t=0;xxxx";
        format!(
            r#"{{"type":"event","event":{{"channel_id":"c","seq":{seq},"id":"e","type":"message","sender_id":"u","created_at":"x","body":"{body}","client_msg_id":"{sender}.{n}"}}}}"#
        )
    }

    fn sender_session() -> Session {
        let shared = Arc::new(Shared::new(Protocol::Parley, Vec::new(), 1));
        let send = SendPlan {
            sender: 0,
            channel_id: "c".into(),
            members: 2,
            flow: Flow::Acks { window: 4 },
            body_size: 16,
            mix: Default::default(),
        };
        let plan = Plan { token: None, source: None, send: Some(send) };
        Session::new(plan, HashMap::from([("c".to_owned(), 5)]), shared)
    }

    #[test]
    fn deliveries_are_recorded_and_seq_skips_and_regressions_counted() {
        let mut session = sender_session();
        for frame in [event(6, 0, 0), event(8, 0, 1), event(8, 0, 1), event(9, 3, 7)] {
            session.on_text(&frame);
        }
        session.on_text(r#"{"type":"presence","user_id":"u","status":"online"}"#);
        let tally = &session.tally;
        assert_eq!(
            tally.deliveries.iter().map(|d| (d.sender, d.n)).collect::<Vec<_>>(),
            [(0, 0), (0, 1), (0, 1), (3, 7)]
        );
        assert_eq!((tally.seq_gaps, tally.seq_regressions), (1, 1));
        assert_eq!(session.shared.counters.frames.load(Relaxed), 5);
    }

    #[test]
    fn acks_and_errors_settle_pending_sends() {
        let mut session = sender_session();
        let sender = session.sender.as_mut().expect("a sender");
        for n in 0..3 {
            sender.log.sent_ns.push(0);
            sender.log.outcome.push(Outcome::Unknown);
            sender.pending.insert(n, 0);
        }
        assert_eq!(session.room(), 1);
        session.on_text(r#"{"type":"ack","ref":0,"client_msg_id":"0.0","status":"stored","seq":6}"#);
        session.on_text(r#"{"type":"error","ref":2,"code":"rate_limited","message":"slow down"}"#);
        session.on_text(r#"{"type":"ack","ref":9,"client_msg_id":"0.9","status":"stored","seq":7}"#);
        let sender = session.sender.as_ref().expect("a sender");
        assert_eq!(sender.log.outcome, [Outcome::Ok, Outcome::Unknown, Outcome::Failed]);
        assert_eq!(session.room(), 3);
        let counters = session.shared.counters.snapshot();
        assert_eq!((counters.acked, counters.failed, counters.owed), (1, 1, 2));
        assert_eq!(session.tally.errors.get("error rate_limited"), Some(&1));
        assert_eq!(session.tally.errors.get("answer to no send"), Some(&1));
    }
}
