//! Outgoing webhooks against a real HTTP receiver: order, signatures,
//! retries after the receiver fails for a while, no loss; and the addresses
//! a webhook may not reach.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parley_server::webhooks::signature;
use parley_testkit::app::{spawn_app, spawn_app_with};
use serde_json::{json, Value};

/// One request the receiver got: its delivery key, signature and body, and
/// whether it answered 2xx.
#[derive(Debug, Clone)]
struct Got {
    delivery: String,
    signature: String,
    body: Bytes,
    ok: bool,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    /// Requests still to fail with 500.
    failing: Arc<AtomicUsize>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let fail = receiver.failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let got = Got { delivery: header("x-parley-delivery"), signature: header("x-parley-signature"), body, ok: !fail };
    receiver.got.lock().unwrap().push(got);
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_receiver(failing: usize) -> (SocketAddr, Receiver) {
    let receiver = Receiver { failing: Arc::new(AtomicUsize::new(failing)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, receiver)
}

#[tokio::test]
async fn every_message_is_delivered_in_order_signed_through_a_receiver_that_fails_a_while() {
    let server = spawn_app_with(|c| {
        c.webhook_allow_private = true;
        c.webhook_backoff = Duration::from_millis(50);
    })
    .await;
    let app = &server;
    let owner = app.register("olive").await;
    let bob = app.register("bob").await;
    let room = app.create_channel(&owner, "deploys", "public").await;
    app.send(&owner, &room, "before", "not delivered: before the hook").await;
    let (addr, receiver) = start_receiver(3).await;
    let hooks = format!("/api/v1/channels/{room}/outgoing-webhooks");
    let url = format!("http://{addr}/hook");
    assert_eq!(app.post(&hooks, &bob.token, json!({"url": url})).await.0, StatusCode::FORBIDDEN, "not a moderator");
    let (status, made) = app.post(&hooks, &owner.token, json!({"url": url})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();

    let mut seqs = Vec::new();
    for n in 0..5 {
        if n == 2 {
            app.post(&format!("/api/v1/channels/{room}/join"), &bob.token, json!({})).await;
        }
        seqs.push(app.send(&owner, &room, &format!("m{n}"), &format!("release {n}")).await["seq"].as_i64().unwrap());
    }
    let started = Instant::now();
    let delivered = loop {
        let got = receiver.got.lock().unwrap().clone();
        if got.iter().filter(|g| g.ok).count() >= seqs.len() {
            break got;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not delivered in time: {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivered.iter().filter(|g| !g.ok).count(), 3, "three refused, each tried again");
    let mut last = 0;
    for got in &delivered {
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        let seq = body["seq"].as_i64().unwrap();
        assert!(seq >= last, "in order, a repeat only of the same seq: {seq} after {last}");
        last = seq;
        assert_eq!(got.delivery, format!("{room}:{seq}"), "the delivery key");
        assert_eq!(got.signature, format!("sha256={}", signature(&secret, &got.body)), "signed");
        assert_eq!(body["event"]["type"], "message", "messages only");
    }
    let ok: Vec<i64> = delivered
        .iter()
        .filter(|g| g.ok)
        .map(|g| serde_json::from_slice::<Value>(&g.body).unwrap()["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(ok, seqs, "each message once it got through, in order, none lost");

    let (_, listed) = app.get(&hooks, &owner.token).await;
    let state = &listed["webhooks"][0];
    assert_eq!((&state["delivered_seq"], &state["last_error"]), (&json!(seqs[4]), &Value::Null), "{state}");
    assert_eq!(app.get(&hooks, &bob.token).await.0, StatusCode::FORBIDDEN);

    let id = state["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/outgoing-webhooks/{id}"), &owner.token).await.0, StatusCode::NO_CONTENT);
    app.send(&owner, &room, "after", "not delivered: after the revoke").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), delivered.len(), "nothing after the revoke");
}

#[tokio::test]
async fn a_webhook_may_not_reach_the_servers_own_network() {
    let server = spawn_app().await;
    let app = &server;
    let owner = app.register("olive").await;
    let room = app.create_channel(&owner, "x", "public").await;
    let hooks = format!("/api/v1/channels/{room}/outgoing-webhooks");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.1/",
    ] {
        let (status, body) = app.post(&hooks, &owner.token, json!({"url": url})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("private"), "{url}: {body}");
    }
    for url in ["ftp://example.com/", "not a url", "http://user:pw@example.com/"] {
        assert_eq!(app.post(&hooks, &owner.token, json!({"url": url})).await.0, StatusCode::BAD_REQUEST, "{url}");
    }
}
