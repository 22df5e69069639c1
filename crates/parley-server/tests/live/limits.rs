//! Slow readers, oversized frames, logout.

use parley_testkit::app::{spawn_app, spawn_app_with};
use parley_testkit::ws::WsClient;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::pair;
use futures::{SinkExt, StreamExt};

#[tokio::test]
async fn logout_closes_the_socket_with_4003() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    app.call(Method::POST, "/api/v1/auth/logout", Some(&alice.token), None).await;
    // From the moment the logout is answered (the revocation is then done).
    let started = std::time::Instant::now();
    assert_eq!(a.closed().await, Some(4003));
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    a.socket.send(Message::Text("x".repeat(70 * 1024).into())).await.unwrap();
    assert_eq!(a.closed().await, Some(1009));
}

#[tokio::test]
async fn a_reader_that_never_reads_is_closed_with_1008_and_others_go_on() {
    let app = spawn_app_with(|c| c.session_queue = 256).await;
    let (alice, bob, channel) = pair(&app).await;
    let carol = app.register("carol").await;
    app.post(&format!("/api/v1/channels/{channel}/join"), &carol.token, json!({})).await;
    let (mut slow, _) = WsClient::connect(app.addr, &carol.token, json!({})).await;
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    // Enough bytes to fill both socket buffers and the queue behind them.
    let total: i64 = 4_000;
    let first = 4;
    let bob_reads = {
        let channel = channel.clone();
        tokio::spawn(async move { b.events_through(&channel, first + total - 1).await.len() as i64 })
    };
    let body = "z".repeat(3_900);
    futures::stream::iter(0..total)
        .map(|i| {
            let (app, alice, channel, body) = (&app, &alice, &channel, &body);
            async move { app.send(alice, channel, &format!("m{i}"), body).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(bob_reads.await.unwrap(), total, "bob got everything while carol was stuck");
    assert_eq!(slow.closed().await, Some(1008));
}
