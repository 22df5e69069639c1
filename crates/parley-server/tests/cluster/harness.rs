//! Nodes as processes over one installation (a scratch database, Kafka topics
//! of its own), the people who use it, and the delivery checker over what
//! their clients ([`Client`], in `client.rs`) recorded.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use parley_bench::checker::{check, History, Record, Report};
use parley_testkit::process::ParleyProcess;
use parley_testkit::services::{kafka_brokers, redis_url, ScratchDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

pub use crate::client::Client;

const BINARY: &str = env!("CARGO_BIN_EXE_parley");

/// The services of every test in this binary: a test that restarts one
/// (PostgreSQL) holds them alone; every other test shares them.
static SERVICES: LazyLock<Arc<RwLock<()>>> = LazyLock::new(Arc::default);

enum Services {
    Shared { _guard: OwnedRwLockReadGuard<()> },
    Alone { _guard: OwnedRwLockWriteGuard<()> },
}

/// A scratch database and a Kafka topic prefix: one installation.
pub struct Cluster {
    pub db: ScratchDb,
    pub prefix: String,
    dir: TempDir,
    pub http: reqwest::Client,
    /// Kafka, and the replication of the topics the nodes make.
    kafka: (String, u32),
    /// Dropped last, after the scratch database.
    _services: Services,
}

impl Cluster {
    pub async fn new() -> Cluster {
        let services = Services::Shared { _guard: SERVICES.clone().read_owned().await };
        Cluster::with(services).await
    }

    /// A cluster that may restart the services: no other test of this binary runs meanwhile.
    pub async fn alone() -> Cluster {
        let services = Services::Alone { _guard: SERVICES.clone().write_owned().await };
        Cluster::with(services).await
    }

    async fn with(services: Services) -> Cluster {
        let db = ScratchDb::create().await;
        let prefix = format!("parley-t{}", uuid::Uuid::now_v7().simple());
        let (dir, http, kafka) = (tempfile::tempdir().unwrap(), reqwest::Client::new(), (kafka_brokers(), 1));
        Cluster { db, prefix, dir, http, kafka, _services: services }
    }

    /// The nodes use these brokers, with topics replicated `replication` times.
    pub fn on_kafka(self, brokers: &str, replication: u32) -> Cluster {
        Cluster { kafka: (brokers.to_owned(), replication), ..self }
    }

    /// Starts a node with `role` (`all`, `gateway` or `processor`).
    pub fn node(&self, role: &str) -> ParleyProcess {
        let (brokers, replication, redis) = (&self.kafka.0, self.kafka.1.to_string(), redis_url());
        let args = [
            "--database",
            &self.db.url,
            "--kafka",
            brokers,
            "--kafka-replication",
            &replication,
            "--kafka-prefix",
            &self.prefix,
            "--redis",
            &redis,
            "--role",
            role,
            "--metrics-listen",
            "127.0.0.1:0",
            // The tests' webhook receivers listen on loopback.
            "--webhook-allow-private",
        ];
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

impl Cluster {
    /// `count` public channels made by `people[0]` and joined by the others,
    /// through `node`: in each, `seq` 1 ..= `people.len()` are the joins.
    pub async fn rooms(&self, node: &ParleyProcess, people: &[Person], count: usize) -> Vec<String> {
        let mut rooms = Vec::new();
        for i in 0..count {
            let body = json!({"name": format!("room-{i}"), "kind": "public"});
            let (status, created) = self.post(node, &people[0], "/api/v1/channels", body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let room = created["channel"]["id"].as_str().unwrap().to_owned();
            for person in &people[1..] {
                let (status, _) = self.post(node, person, &format!("/api/v1/channels/{room}/join"), json!({})).await;
                assert_eq!(status, StatusCode::OK);
            }
            rooms.push(room);
        }
        rooms
    }

    /// The messages `node`'s Sequencers stored so far (its processor's, on a processor node).
    pub async fn stored_messages(&self, node: &ParleyProcess) -> u64 {
        let text = self.http.get(node.metrics_url("/metrics")).send().await.unwrap().text().await.unwrap();
        let line = text.lines().find_map(|l| l.strip_prefix("parley_messages_stored_total "));
        line.and_then(|n| n.trim().parse().ok()).expect("parley_messages_stored_total in /metrics")
    }
}
