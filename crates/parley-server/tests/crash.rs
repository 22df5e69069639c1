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
    let log: Value = http
        .get(server.url(&format!("/api/v1/channels/{channel}/events?after=1&limit=500")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut stored: Vec<(String, i64)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
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
