//! Outgoing webhooks in a cluster: nodes killed while a hook's messages are
//! in flight; every message delivered at least once, in order, a repeat only
//! of the same seq.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::harness::Cluster;

#[derive(Clone, Default)]
struct Receiver {
    seqs: Arc<Mutex<Vec<i64>>>,
}

/// Takes a while over each request, so that a delivery is in flight when a node dies.
async fn receive(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    receiver.seqs.lock().unwrap().push(body["seq"].as_i64().unwrap_or(-1));
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hook_survives_its_nodes_being_killed_with_nothing_lost_or_out_of_order() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let cluster = Cluster::new().await;
    let mut nodes = vec![cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "deploys", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    let hooks = format!("/api/v1/channels/{room}/outgoing-webhooks");
    let (status, made) = cluster.post(&nodes[0], &alice, &hooks, json!({"url": url})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");

    let mut sent = Vec::new();
    for n in 0..40 {
        let body = json!({"body": format!("release {n}"), "client_msg_id": format!("m{n}")});
        let (status, posted) =
            cluster.post(&nodes[1], &alice, &format!("/api/v1/channels/{room}/messages"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{posted}");
        sent.push(posted["event"]["seq"].as_i64().unwrap());
    }
    let received = |at_least: usize| {
        let receiver = receiver.clone();
        async move {
            let started = Instant::now();
            loop {
                let seqs = receiver.seqs.lock().unwrap().clone();
                if seqs.len() >= at_least {
                    return seqs;
                }
                assert!(started.elapsed() < Duration::from_secs(60), "only {} delivered: {seqs:?}", seqs.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // Kill each of the first two nodes in turn mid-delivery: one of them holds the hook.
    received(5).await;
    nodes.remove(0).kill();
    nodes.push(cluster.node("all"));
    let so_far = receiver.seqs.lock().unwrap().len();
    received(so_far + 5).await;
    nodes.remove(0).kill();
    let started = Instant::now();
    let seqs = loop {
        let seqs = receiver.seqs.lock().unwrap().clone();
        let mut distinct = seqs.clone();
        distinct.dedup();
        if distinct.len() >= sent.len() || started.elapsed() > Duration::from_secs(60) {
            break seqs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in order, a repeat only of the same seq: {seqs:?}");
    let mut distinct = seqs.clone();
    distinct.dedup();
    assert_eq!(distinct, sent, "every message, none lost");
}
