//! Live delivery over WebSocket and SSE against the real server on port 0.

mod delivery;
mod frames;
mod limits;
mod membership;
mod presence;
mod read_markers;
mod sse;

use parley_testkit::app::{TestApp, TestUser};
use serde_json::json;

/// Alice's public channel with bob in it.
pub async fn pair(app: &TestApp) -> (TestUser, TestUser, String) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let channel = app.create_channel(&alice, "general", "public").await;
    let (status, _) = app.post(&format!("/api/v1/channels/{channel}/join"), &bob.token, json!({})).await;
    assert!(status.is_success());
    (alice, bob, channel)
}

/// The seqs of `events`, checked strictly increasing without holes from `first`.
pub fn assert_contiguous(events: &[serde_json::Value], first: i64) -> Vec<i64> {
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (first..first + seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "seqs must rise by one without holes");
    seqs
}
