//! The SSE stream carries the same frames.

use parley_testkit::app::spawn_app;
use serde_json::{json, Value};

use super::pair;

/// An SSE response, read one message at a time.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader { response, buffer: String::new() }
    }

    /// The data of the next message named `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in message.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim();
                    } else if let Some(part) = line.strip_prefix("data:") {
                        data.push_str(part.trim_start());
                    }
                }
                if event == kind {
                    let value: Value = serde_json::from_str(&data).unwrap();
                    assert_eq!(value["type"], kind);
                    return value;
                }
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), self.response.chunk())
                .await
                .expect("sse in time")
                .expect("chunk")
                .expect("stream open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// Reads SSE messages until `count` of type `kind` have come.
async fn read_sse(response: reqwest::Response, kind: &str, count: usize) -> Vec<Value> {
    let mut reader = SseReader::new(response);
    let mut found = Vec::new();
    while found.len() < count {
        found.push(reader.next_of(kind).await);
    }
    found
}

#[tokio::test]
async fn sse_receives_ready_replay_and_live_events() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    app.send(&alice, &channel, "m1", "before").await;
    let response = app
        .http
        .get(app.url(&format!("/api/v1/stream?resume={channel}:2")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let reader = tokio::spawn(read_sse(response, "event", 3));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.send(&alice, &channel, "m2", "live one").await;
    app.send(&alice, &channel, "m3", "live two").await;
    let events = reader.await.unwrap();
    let bodies: Vec<&Value> = events.iter().map(|f| &f["event"]["body"]).collect();
    assert_eq!(bodies, [&json!("before"), &json!("live one"), &json!("live two")]);
    let seqs: Vec<i64> = events.iter().map(|f| f["event"]["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [3, 4, 5]);

    let bad = app.http.get(app.url("/api/v1/stream?resume=nope")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let anonymous = app.http.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
