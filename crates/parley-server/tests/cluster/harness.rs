//! Nodes as processes, people as WebSocket clients that record every send and
//! every event for the delivery checker.

use std::path::Path;

use parley_bench::checker::{check, History, Outcome, Record, Report, Via};
use parley_testkit::process::ParleyProcess;
use parley_testkit::services::{kafka_brokers, ScratchDb};
use parley_testkit::ws::WsClient;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;

const BINARY: &str = env!("CARGO_BIN_EXE_parley");

/// A scratch database and a Kafka topic prefix: one installation.
pub struct Cluster {
    pub db: ScratchDb,
    pub prefix: String,
    dir: TempDir,
    pub http: reqwest::Client,
}

impl Cluster {
    pub async fn new() -> Cluster {
        let db = ScratchDb::create().await;
        let prefix = format!("parley-t{}", uuid::Uuid::now_v7().simple());
        Cluster { db, prefix, dir: tempfile::tempdir().unwrap(), http: reqwest::Client::new() }
    }

    /// Starts a node with `role` (`all`, `gateway` or `processor`).
    pub fn node(&self, role: &str) -> ParleyProcess {
        let brokers = kafka_brokers();
        let args = ["--database", &self.db.url, "--kafka", &brokers, "--kafka-prefix", &self.prefix, "--role", role];
        ParleyProcess::start(Path::new(BINARY), self.dir.path(), &args)
    }

    pub async fn register(&self, node: &ParleyProcess, name: &str) -> Person {
        let body = json!({"username": name, "password": "correct horse battery"});
        let response = self.http.post(node.url("/api/v1/auth/register")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: Value = response.json().await.unwrap();
        Person {
            name: name.into(),
            id: answer["user"]["id"].as_str().unwrap().into(),
            token: answer["token"].as_str().unwrap().into(),
        }
    }

    pub async fn post(&self, node: &ParleyProcess, who: &Person, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(node.url(path)).bearer_auth(&who.token).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every event of `channel`, paged over REST from `node`.
    pub async fn log(&self, node: &ParleyProcess, who: &Person, channel: &str) -> Vec<Value> {
        let (mut events, mut after) = (Vec::new(), 0);
        loop {
            let url = node.url(&format!("/api/v1/channels/{channel}/events?after={after}&limit=500"));
            let page: Value = self.http.get(url).bearer_auth(&who.token).send().await.unwrap().json().await.unwrap();
            let page = page["events"].as_array().unwrap().clone();
            match page.last() {
                Some(last) => after = last["seq"].as_i64().unwrap(),
                None => return events,
            }
            events.extend(page);
        }
    }
}

#[derive(Clone)]
pub struct Person {
    pub name: String,
    pub id: String,
    pub token: String,
}

/// One person's live connection, recording what it sends and receives.
pub struct Client {
    pub who: Person,
    pub ws: WsClient,
    pub history: History,
    conn: u32,
    next_ref: u64,
    /// Acks that said `accepted` (cluster mode: in the command log, not yet stored).
    pub accepted: usize,
    /// ref → (channel, client_msg_id) of sends not answered yet.
    waiting: std::collections::HashMap<u64, (String, String)>,
}

impl Client {
    pub async fn connect(node: &ParleyProcess, who: &Person) -> Client {
        let (ws, _) = WsClient::connect(node.addr, &who.token, json!({})).await;
        Client {
            who: who.clone(),
            ws,
            history: History::default(),
            conn: 1,
            next_ref: 1,
            accepted: 0,
            waiting: Default::default(),
        }
    }

    pub fn follow(&mut self, channel: &str, from_seq: i64) {
        self.history.push(Record::Follow { client: self.who.name.clone(), channel: channel.into(), from_seq });
    }

    pub async fn send(&mut self, channel: &str, client_msg_id: &str, body: &str) {
        let reference = self.next_ref;
        self.next_ref += 1;
        self.waiting.insert(reference, (channel.into(), client_msg_id.into()));
        self.ws.post(reference, channel, client_msg_id, body).await;
    }

    /// Reads frames until `done` says the history is complete, recording acks and events.
    pub async fn read_until(&mut self, mut done: impl FnMut(&Client) -> bool) {
        while !done(self) {
            let frame = self.ws.next().await;
            self.record(&frame);
        }
    }

    fn record(&mut self, frame: &Value) {
        match frame["type"].as_str() {
            Some("ack") | Some("error") => {
                let Some(reference) = frame["ref"].as_u64() else { return };
                let Some((channel, client_msg_id)) = self.waiting.remove(&reference) else { return };
                let outcome = if frame["type"] == "ack" { Outcome::Ok } else { Outcome::Failed };
                self.accepted += usize::from(frame["status"] == "accepted");
                self.history.push(Record::Send {
                    client: self.who.name.clone(),
                    user: self.who.id.clone(),
                    channel,
                    client_msg_id,
                    outcome,
                });
            }
            Some("event") => {
                let event = &frame["event"];
                self.history.push(Record::Recv {
                    client: self.who.name.clone(),
                    conn: self.conn,
                    channel: event["channel_id"].as_str().unwrap().into(),
                    seq: event["seq"].as_i64().unwrap(),
                    id: event["id"].as_str().unwrap().into(),
                    via: Via::Live,
                });
            }
            _ => {}
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

    pub fn unanswered(&self) -> usize {
        self.waiting.len()
    }
}

/// Every client's history and the server's final log of `channels`, checked.
pub async fn check_all(
    cluster: &Cluster,
    node: &ParleyProcess,
    reader: &Person,
    clients: &[&Client],
    channels: &[&str],
) -> Report {
    let mut history = History::default();
    for client in clients {
        history.records.extend(client.history.records.iter().cloned());
    }
    for channel in channels {
        for event in cluster.log(node, reader, channel).await {
            history.push(Record::Log {
                channel: (*channel).into(),
                seq: event["seq"].as_i64().unwrap(),
                id: event["id"].as_str().unwrap().into(),
                sender: event["sender_id"].as_str().unwrap().into(),
                client_msg_id: event["client_msg_id"].as_str().map(str::to_owned),
            });
        }
    }
    check(&history)
}
