//! The real binary, killed: SIGKILL loses nothing acknowledged; SIGTERM drains and exits 0.

use std::path::Path;
use std::time::Duration;

use parley_testkit::process::ParleyProcess;
use reqwest::StatusCode;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_parley");

async fn register(http: &reqwest::Client, server: &ParleyProcess, name: &str) -> String {
    let response = http
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"username": name, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// GET `path` with `token`, as JSON.
async fn get_json(http: &reqwest::Client, server: &ParleyProcess, path: &str, token: &str) -> Value {
    http.get(server.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Every event of `channel`, paging `?after=` until the end.
async fn whole_log(http: &reqwest::Client, server: &ParleyProcess, channel: &str, token: &str) -> Vec<Value> {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let page =
            get_json(http, server, &format!("/api/v1/channels/{channel}/events?after={after}&limit=500"), token).await;
        let page = page["events"].as_array().unwrap().clone();
        match page.last() {
            Some(last) => after = last["seq"].as_i64().unwrap(),
            None => return events,
        }
        events.extend(page);
    }
}

#[tokio::test]
async fn sigkill_after_acknowledged_sends_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let server = ParleyProcess::start(Path::new(BINARY), dir.path(), &[]);
    let token = register(&http, &server, "alice").await;
    let created = http
        .post(server.url("/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"name": "general", "kind": "public"}))
        .send()
        .await
        .unwrap();
    let channel = created.json::<Value>().await.unwrap()["channel"]["id"].as_str().unwrap().to_owned();

    // 100 sends in flight together, so they land in group commits of many.
    let sends = (0..100).map(|i| {
        let request = http
            .post(server.url(&format!("/api/v1/channels/{channel}/messages")))
            .bearer_auth(&token)
            .json(&json!({"body": format!("message {i}"), "client_msg_id": format!("m{i}")}));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let event = response.json::<Value>().await.unwrap()["event"].clone();
            (event["client_msg_id"].as_str().unwrap().to_owned(), event["seq"].as_i64().unwrap())
        }
    });
    let mut acked = futures::future::join_all(sends).await;
    server.kill();

    let server = ParleyProcess::start(Path::new(BINARY), dir.path(), &[]);
    let token = register(&http, &server, "bob").await;
    let mut stored: Vec<(String, i64)> = whole_log(&http, &server, &channel, &token)
        .await
        .iter()
        .skip(1)
        .map(|e| (e["client_msg_id"].as_str().unwrap().to_owned(), e["seq"].as_i64().unwrap()))
        .collect();
    acked.sort_by_key(|(_, seq)| *seq);
    stored.sort_by_key(|(_, seq)| *seq);
    assert_eq!(stored.len(), 100);
    assert_eq!(stored, acked);
    assert_eq!(stored.iter().map(|(_, seq)| *seq).collect::<Vec<_>>(), (2..=101).collect::<Vec<_>>());
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let server = ParleyProcess::start(Path::new(BINARY), dir.path(), &[]);
    register(&http, &server, "alice").await;
    let status = server.terminate(Duration::from_secs(15)).expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(BINARY)
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .env("PARLEY_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("parley.db").exists());
}

/// Reads JSON frames until the connection dies, handing each to `seen`.
async fn read_until_dead(mut socket: parley_testkit::ws::WsClient, seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    while let Some(Ok(message)) = socket.socket.next().await {
        if let Message::Text(text) = message {
            seen.lock().unwrap().push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
}

#[tokio::test]
async fn sigkill_while_clients_send_over_websocket_loses_nothing_acked_and_resume_fills_in() {
    use parley_testkit::ws::WsClient;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let server = ParleyProcess::start(Path::new(BINARY), dir.path(), &[]);
    let alice = register(&http, &server, "alice").await;
    let bob = register(&http, &server, "bob").await;
    let created: Value = http
        .post(server.url("/api/v1/channels"))
        .bearer_auth(&alice)
        .json(&json!({"name": "general", "kind": "public"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = created["channel"]["id"].as_str().unwrap().to_owned();
    http.post(server.url(&format!("/api/v1/channels/{channel}/join"))).bearer_auth(&bob).send().await.unwrap();

    let (b, _) = WsClient::connect(server.addr, &bob, json!({})).await;
    let bob_seen = Arc::new(Mutex::new(Vec::new()));
    let bob_task = tokio::spawn(read_until_dead(b, bob_seen.clone()));
    let (mut a, _) = WsClient::connect(server.addr, &alice, json!({})).await;
    for i in 0..800 {
        a.post(i, &channel, &format!("m{i}"), &format!("message {i}")).await;
    }
    let alice_seen = Arc::new(Mutex::new(Vec::new()));
    let alice_task = tokio::spawn(read_until_dead(a, alice_seen.clone()));
    let acked = |seen: &Mutex<Vec<Value>>| seen.lock().unwrap().iter().filter(|f| f["type"] == "ack").count();
    while acked(&alice_seen) < 100 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    alice_task.await.unwrap();
    bob_task.await.unwrap();

    let acks: Vec<(String, i64)> = alice_seen
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == "ack")
        .map(|f| (f["client_msg_id"].as_str().unwrap().to_owned(), f["seq"].as_i64().unwrap()))
        .collect();
    let bob_before: Vec<i64> = bob_seen
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == "event")
        .map(|f| f["event"]["seq"].as_i64().unwrap())
        .collect();
    assert!(acks.len() >= 100);
    assert_eq!(bob_before, (3..3 + bob_before.len() as i64).collect::<Vec<_>>(), "live events in order");

    let server = ParleyProcess::start(Path::new(BINARY), dir.path(), &[]);
    let stored = whole_log(&http, &server, &channel, &bob).await;
    let head = stored.last().unwrap()["seq"].as_i64().unwrap();
    for (client_msg_id, seq) in &acks {
        let event = &stored[(*seq - 1) as usize];
        assert_eq!(
            (&event["client_msg_id"], event["seq"].as_i64().unwrap()),
            (&json!(client_msg_id), *seq),
            "acked message kept"
        );
    }

    // Bob resumes from the last seq he saw and gets exactly the rest.
    let last_seen = bob_before.last().copied().unwrap_or(2);
    let (mut b, _) = WsClient::connect(server.addr, &bob, json!({ &channel: last_seen })).await;
    if head > last_seen {
        let resumed = b.events_through(&channel, head).await;
        let seqs: Vec<i64> = resumed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (last_seen + 1..=head).collect::<Vec<_>>());
    }
    // Alice retries everything with the same ids: nothing is stored twice.
    let (mut a, _) = WsClient::connect(server.addr, &alice, json!({})).await;
    for i in 0..800 {
        a.post(i, &channel, &format!("m{i}"), &format!("message {i}")).await;
    }
    let mut retried = Vec::new();
    while retried.len() < 800 {
        let frame = a.next_of("ack").await;
        retried.push((frame["client_msg_id"].as_str().unwrap().to_owned(), frame["seq"].as_i64().unwrap()));
    }
    for ack in &acks {
        assert!(retried.contains(ack), "a retry of an acked message answers its first seq: {ack:?}");
    }
    let mut seqs: Vec<i64> = retried.iter().map(|(_, seq)| *seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 800, "800 distinct messages, one seq each");
}
