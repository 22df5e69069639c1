//! Presence only between people who share a channel each chose to be in: a
//! DM shows the person who opened it and, once they write in it, the others.

use std::collections::HashSet;

use parley_testkit::app::{spawn_app, TestUser};
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};

use super::pair;

/// Mallory opens a DM with alice, who never answers: mallory is not told
/// when alice comes online (at connect or live) or goes offline, while bob,
/// in a channel with her, is. Alice is told of mallory, who opened it. Once
/// alice writes in the DM, mallory is told of her, live and at connect.
#[tokio::test]
async fn a_dm_shows_its_recipient_only_once_they_answer() {
    let app = spawn_app().await;
    let (alice, bob, _) = pair(&app).await;
    let mallory = app.register("mallory").await;
    let (status, opened) = app.post("/api/v1/dms", &mallory.token, json!({"user_ids": [alice.id]})).await;
    assert!(status.is_success(), "{opened}");
    let dm = opened["channel"]["id"].as_str().unwrap().to_owned();

    let (mut m, _) = WsClient::connect(app.addr, &mallory.token, json!({})).await;
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    assert_eq!(told(&mut a).await, HashSet::from([online(&bob), online(&mallory)]), "alice sees who opened the DM");
    assert_eq!(b.next_of("presence").await, online(&alice));
    assert!(told(&mut m).await.is_empty(), "alice came online: not mallory's business");
    let (mut m2, _) = WsClient::connect(app.addr, &mallory.token, json!({})).await;
    assert!(told(&mut m2).await.is_empty(), "nor at connect");

    drop(a);
    assert_eq!(b.next_of("presence").await, offline(&alice));
    assert!(told(&mut m).await.is_empty(), "alice went offline: not mallory's business");

    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    assert_eq!(b.next_of("presence").await, online(&alice));
    a.post(1, &dm, "a1", "who are you?").await;
    let (mut event, mut presence) = (None, None);
    while event.is_none() || presence.is_none() {
        let frame = m.next().await;
        match frame["type"].as_str() {
            Some("event") => event = Some(frame["event"]["body"].clone()),
            Some("presence") => presence = Some(frame),
            _ => {}
        }
    }
    assert_eq!((event, presence), (Some(json!("who are you?")), Some(online(&alice))), "she answered");
    let (mut m3, _) = WsClient::connect(app.addr, &mallory.token, json!({})).await;
    assert_eq!(told(&mut m3).await, HashSet::from([online(&alice)]), "and at connect");
    drop(a);
    assert_eq!(m.next_of("presence").await, offline(&alice));
    drop(m2);
}

fn online(user: &TestUser) -> Value {
    json!({"type": "presence", "user_id": user.id, "status": "online"})
}

fn offline(user: &TestUser) -> Value {
    json!({"type": "presence", "user_id": user.id, "status": "offline"})
}

/// The presence frames `client` gets before the answer to a ping sent now.
async fn told(client: &mut WsClient) -> HashSet<Value> {
    client.send(json!({"type": "ping", "ref": "told"})).await;
    let mut told = HashSet::new();
    loop {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("presence") => {
                told.insert(frame);
            }
            Some("pong") => return told,
            _ => {}
        }
    }
}
