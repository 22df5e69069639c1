//! One person's live connection, recording every send and every event for the
//! delivery checker, and surviving the loss of its node the way a real client
//! does: unanswered sends become `unknown`, it reconnects (to the same node or
//! another) with `resume` = the last unbroken `seq` of each channel it follows,
//! pages any `gap` over REST, and sends the unknown ones again with their own
//! `client_msg_id`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use parley_bench::checker::{History, Outcome, Record, Via};
use parley_testkit::process::ParleyProcess;
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::Person;

/// How long a reconnect keeps trying before the test gives up.
const RECONNECT_WITHIN: Duration = Duration::from_secs(30);
/// How long one connection attempt may take, hello and `ready` included.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// A send not answered yet: all it takes to send it again.
#[derive(Debug, Clone)]
pub struct Pending {
    pub channel: String,
    pub client_msg_id: String,
    pub body: String,
}

pub struct Client {
    pub who: Person,
    ws: WsClient,
    /// The node this connection goes to; REST paging asks it too.
    pub addr: SocketAddr,
    http: reqwest::Client,
    pub history: History,
    /// This connection's number: 1, then one more per reconnect.
    pub conn: u32,
    next_ref: u64,
    /// Acks that said `accepted` (cluster mode: in the command log, not yet stored).
    pub accepted: usize,
    /// Sends refused, by error code.
    pub refused: BTreeMap<String, usize>,
    /// Sends whose connection went before their answer came.
    pub unknown: usize,
    /// When each answer came, and whether it was an ack.
    pub answers: Vec<(Instant, bool)>,
    /// Why connections ended (`close <code>`, `broken`), and why reconnects were turned away.
    pub closes: Vec<String>,
    pub hello_refusals: Vec<String>,
    /// ref → the send it answers.
    waiting: BTreeMap<u64, Pending>,
    /// channel → the `seq` this client follows it from.
    follows: HashMap<String, i64>,
    /// channel → every `seq` received, live or paged.
    have: HashMap<String, BTreeSet<i64>>,
}

impl Client {
    pub async fn connect(node: &ParleyProcess, who: &Person) -> Client {
        let (ws, _) = WsClient::connect(node.addr, &who.token, json!({})).await;
        Client::over(ws, node.addr, who)
    }

    /// Connects following each of `channels` from `from_seq`, resuming them
    /// from there: whatever was stored before the hello is replayed.
    pub async fn connect_following(node: &ParleyProcess, who: &Person, channels: &[String], from_seq: i64) -> Client {
        let resume: serde_json::Map<String, Value> =
            channels.iter().map(|c| (c.clone(), json!(from_seq - 1))).collect();
        let (ws, _) = WsClient::connect(node.addr, &who.token, json!(resume)).await;
        let mut client = Client::over(ws, node.addr, who);
        for channel in channels {
            client.follow(channel, from_seq);
        }
        client
    }

    fn over(ws: WsClient, addr: SocketAddr, who: &Person) -> Client {
        Client {
            who: who.clone(),
            ws,
            addr,
            http: reqwest::Client::new(),
            history: History::default(),
            conn: 1,
            next_ref: 1,
            accepted: 0,
            refused: BTreeMap::new(),
            unknown: 0,
            answers: Vec::new(),
            closes: Vec::new(),
            hello_refusals: Vec::new(),
            waiting: BTreeMap::new(),
            follows: HashMap::new(),
            have: HashMap::new(),
        }
    }

    /// From now on this client must get every event of `channel` from `from_seq` on.
    pub fn follow(&mut self, channel: &str, from_seq: i64) {
        self.follows.insert(channel.into(), from_seq);
        self.history.push(Record::Follow { client: self.who.name.clone(), channel: channel.into(), from_seq });
    }

    /// The last `seq` of the unbroken run this client holds of a followed channel.
    pub fn contiguous(&self, channel: &str) -> i64 {
        let mut last = self.follows.get(channel).map_or(0, |from| from - 1);
        if let Some(have) = self.have.get(channel) {
            while have.contains(&(last + 1)) {
                last += 1;
            }
        }
        last
    }

    /// Sends a message and does not wait for its answer; panics if the connection is gone.
    pub async fn send(&mut self, channel: &str, client_msg_id: &str, body: &str) {
        let pending = Pending { channel: channel.into(), client_msg_id: client_msg_id.into(), body: body.into() };
        assert!(self.try_send(pending).await, "{}: the connection is gone", self.who.name);
    }

    /// Sends a message and does not wait for its answer. False when the
    /// connection is gone: the send then waits for [`lost`](Self::lost).
    pub async fn try_send(&mut self, pending: Pending) -> bool {
        let reference = self.next_ref;
        self.next_ref += 1;
        let frame = json!({"type": "send", "ref": reference, "channel_id": pending.channel,
                           "client_msg_id": pending.client_msg_id, "body": pending.body});
        self.waiting.insert(reference, pending);
        self.ws.socket.send(Message::Text(frame.to_string().into())).await.is_ok()
    }

    pub fn unanswered(&self) -> usize {
        self.waiting.len()
    }

    /// Reads frames until `done` says the history is complete; panics if the
    /// connection closes or stays silent (for tests where no node fails).
    pub async fn read_until(&mut self, mut done: impl FnMut(&Client) -> bool) {
        while !done(self) {
            let frame = self.ws.next().await;
            assert!(self.handle(&frame).await, "{}: paging a gap failed", self.who.name);
        }
    }

    /// The next frame, or `None` once the connection is closed or broken.
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            match self.ws.socket.next().await {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(text.as_str()).expect("JSON frame")),
                Some(Ok(Message::Close(frame))) => {
                    self.closes.push(format!("close {:?}", frame.map(|f| u16::from(f.code))));
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    self.closes.push(format!("broken: {error}"));
                    return None;
                }
                None => {
                    self.closes.push("ended".into());
                    return None;
                }
            }
        }
    }

    /// Records what `frame` says, paging a `gap` over REST. False when the
    /// paging failed: the caller drops the connection and resumes, which asks
    /// for the same events again.
    pub async fn handle(&mut self, frame: &Value) -> bool {
        match frame["type"].as_str() {
            Some("ack") | Some("error") => self.answered(frame),
            Some("event") => self.take_event(&frame["event"], Via::Live),
            Some("gap") => return self.page_gap(frame).await,
            _ => {}
        }
        true
    }

    fn answered(&mut self, frame: &Value) {
        let Some(reference) = frame["ref"].as_u64() else {
            eprintln!("{}: error frame without ref: {frame}", self.who.name);
            return;
        };
        let Some(pending) = self.waiting.remove(&reference) else { return };
        let outcome = if frame["type"] == "ack" {
            self.accepted += usize::from(frame["status"] == "accepted");
            Outcome::Ok
        } else {
            *self.refused.entry(frame["code"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
            Outcome::Failed
        };
        self.answers.push((Instant::now(), outcome == Outcome::Ok));
        self.record_send(pending, outcome);
    }

    fn record_send(&mut self, pending: Pending, outcome: Outcome) {
        self.history.push(Record::Send {
            client: self.who.name.clone(),
            user: self.who.id.clone(),
            channel: pending.channel,
            client_msg_id: pending.client_msg_id,
            outcome,
        });
    }

    fn take_event(&mut self, event: &Value, via: Via) {
        let channel = event["channel_id"].as_str().expect("channel_id").to_owned();
        let seq = event["seq"].as_i64().expect("seq");
        self.have.entry(channel.clone()).or_default().insert(seq);
        self.history.push(Record::Recv {
            client: self.who.name.clone(),
            conn: self.conn,
            channel,
            seq,
            id: event["id"].as_str().expect("id").into(),
            via,
        });
    }

    /// Pages `after_seq+1 ..= through_seq` of a `gap` from the node of this connection.
    async fn page_gap(&mut self, gap: &Value) -> bool {
        let channel = gap["channel_id"].as_str().expect("channel_id").to_owned();
        let (mut after, through) =
            (gap["after_seq"].as_i64().expect("after"), gap["through_seq"].as_i64().expect("through"));
        while after < through {
            let url = format!("http://{}/api/v1/channels/{channel}/events?after={after}&limit=500", self.addr);
            let page = match self.http.get(url).bearer_auth(&self.who.token).send().await {
                Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
                _ => None,
            };
            let Some(events) = page.as_ref().and_then(|p| p["events"].as_array()).filter(|e| !e.is_empty()) else {
                return false;
            };
            for event in events.iter().filter(|e| e["seq"].as_i64().is_some_and(|seq| seq <= through)) {
                self.take_event(event, Via::Page);
            }
            after = events.last().and_then(|e| e["seq"].as_i64()).expect("seq");
        }
        true
    }

    /// The connection is gone: every unanswered send becomes `unknown` (it
    /// may or may not be stored). They are returned, oldest first, to be sent again.
    pub fn lost(&mut self) -> Vec<Pending> {
        let waiting = std::mem::take(&mut self.waiting);
        self.unknown += waiting.len();
        let pending: Vec<Pending> = waiting.into_values().collect();
        for send in &pending {
            self.record_send(send.clone(), Outcome::Unknown);
        }
        pending
    }

    /// Connects again to the first of `nodes` that answers the hello with
    /// `ready`, resuming each followed channel after its unbroken run; the
    /// replay that follows is read as this new connection's live events.
    pub async fn reconnect(&mut self, nodes: &[SocketAddr]) {
        let resume: serde_json::Map<String, Value> =
            self.follows.keys().map(|channel| (channel.clone(), json!(self.contiguous(channel)))).collect();
        let hello = json!({"type": "hello", "token": self.who.token, "resume": resume});
        let deadline = Instant::now() + RECONNECT_WITHIN;
        let mut pause = Duration::from_millis(50);
        loop {
            for addr in nodes {
                match tokio::time::timeout(HELLO_WITHIN, open(*addr, &hello)).await {
                    Ok(Ok(ws)) => {
                        self.ws = ws;
                        self.addr = *addr;
                        self.conn += 1;
                        return;
                    }
                    Ok(Err(why)) => self.hello_refusals.push(format!("{addr}: {why}")),
                    Err(_) => self.hello_refusals.push(format!("{addr}: no ready within {HELLO_WITHIN:?}")),
                }
            }
            assert!(
                Instant::now() < deadline,
                "{}: no node took the reconnect: {:?}",
                self.who.name,
                self.hello_refusals
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// After the connection is lost: the unanswered sends become unknown, the
    /// client reconnects and sends them again with the same `client_msg_id`.
    pub async fn recover(&mut self, nodes: &[SocketAddr]) {
        let unknown = self.lost();
        self.reconnect(nodes).await;
        for pending in unknown {
            if !self.try_send(pending).await {
                return; // Lost again: the next `recover` takes it from here.
            }
        }
    }

    /// Reads (reconnecting to `nodes` as needed) until every send is answered
    /// and every followed channel is held unbroken through its `lasts` entry;
    /// false if `until` comes first.
    pub async fn catch_up(&mut self, lasts: &HashMap<String, i64>, nodes: &[SocketAddr], until: Instant) -> bool {
        loop {
            let behind = lasts
                .iter()
                .any(|(channel, last)| self.follows.contains_key(channel) && self.contiguous(channel) < *last);
            if self.waiting.is_empty() && !behind {
                return true;
            }
            match tokio::time::timeout_at(until.into(), self.next_frame()).await {
                Err(_) => return false,
                Ok(Some(frame)) => {
                    if !self.handle(&frame).await {
                        self.recover(nodes).await;
                    }
                }
                Ok(None) => self.recover(nodes).await,
            }
        }
    }

    /// The `(seq, id)` of every event received for `channel`, in arrival order.
    pub fn received(&self, channel: &str) -> Vec<(i64, String)> {
        self.history
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Recv { channel: c, seq, id, .. } if c == channel => Some((*seq, id.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Opens a WebSocket to `addr` and says `hello`; the socket once `ready` came,
/// else what the node said instead.
pub async fn open(addr: SocketAddr, hello: &Value) -> Result<WsClient, String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    socket.send(Message::Text(hello.to_string().into())).await.map_err(|e| format!("hello: {e}"))?;
    let mut said = Vec::new();
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(text.as_str()).map_err(|e| format!("not JSON: {e}"))?;
                if frame["type"] == "ready" {
                    return Ok(WsClient { socket });
                }
                said.push(format!("{} {}", frame["type"], frame["code"]));
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!(
                    "{said:?} then close {:?}",
                    frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                ))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("{said:?} then {e}")),
            None => return Err(format!("{said:?} then the end")),
        }
    }
}
