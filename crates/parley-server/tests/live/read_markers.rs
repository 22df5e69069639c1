//! Read markers follow a person: every session of theirs learns where a
//! marker moved, nobody else does.

use parley_testkit::app::spawn_app;
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};

use super::pair;
use super::sse::SseReader;

/// Frames up to the answer to a ping sent now. A frame the server queued for
/// this session before it read the ping comes first.
async fn until_pong(client: &mut WsClient) -> Vec<Value> {
    client.send(json!({"type": "ping", "ref": "until"})).await;
    let mut frames = Vec::new();
    loop {
        let frame = client.next().await;
        if frame["type"] == "pong" && frame["ref"] == "until" {
            return frames;
        }
        frames.push(frame);
    }
}

fn read_markers(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "read_marker").collect()
}

#[tokio::test]
async fn a_read_reaches_every_session_of_mine_and_nobody_else() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    for i in 0..3 {
        app.send(&alice, &channel, &format!("m{i}"), "hello").await; // seqs 3..=5
    }
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let (mut b1, ready) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    assert_eq!((&ready["channels"][0]["last_read_seq"], &ready["channels"][0]["unread_count"]), (&json!(2), &json!(3)));
    let (mut b2, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let stream = app.http.get(app.url("/api/v1/stream")).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut sse = SseReader::new(stream);
    sse.next_of("ready").await;

    // A WebSocket read: both of bob's sockets hear of it, the reader's included.
    b1.send(json!({"type": "read", "channel_id": channel, "seq": 4})).await;
    let moved = json!({"type": "read_marker", "channel_id": channel, "last_read_seq": 4, "unread_count": 1, "mention_count": 0});
    assert_eq!(b2.next_of("read_marker").await, moved);
    assert_eq!(b1.next_of("read_marker").await, moved);

    // A REST read past the head: capped at the channel's last seq.
    let (status, _) = app.post(&format!("/api/v1/channels/{channel}/read"), &bob.token, json!({"seq": 99})).await;
    assert_eq!(status, 204);
    let moved = json!({"type": "read_marker", "channel_id": channel, "last_read_seq": 5, "unread_count": 0, "mention_count": 0});
    assert_eq!(b1.next_of("read_marker").await, moved);
    assert_eq!(b2.next_of("read_marker").await, moved);
    assert_eq!(sse.next_of("read_marker").await["last_read_seq"], 4);
    assert_eq!(sse.next_of("read_marker").await, moved, "the same frame on the stream");

    // At or below the marker: nothing moves, nobody is told.
    b1.send(json!({"type": "read", "channel_id": channel, "seq": 3})).await;
    b1.send(json!({"type": "read", "channel_id": channel, "seq": 5})).await;
    let (status, _) = app.post(&format!("/api/v1/channels/{channel}/read"), &bob.token, json!({"seq": 5})).await;
    assert_eq!(status, 204);
    // b1 has handled both reads by the time it answers its ping, and any
    // frame they made was queued for b2 before b2 reads its own ping.
    assert_eq!(read_markers(&until_pong(&mut b1).await), Vec::<&Value>::new());
    assert_eq!(read_markers(&until_pong(&mut b2).await), Vec::<&Value>::new());

    // Alice, a member of the same channel, heard none of bob's; her own read is hers.
    assert_eq!(read_markers(&until_pong(&mut a).await), Vec::<&Value>::new());
    let (status, _) = app.post(&format!("/api/v1/channels/{channel}/read"), &alice.token, json!({"seq": 5})).await;
    assert_eq!(status, 204);
    let mine = json!({"type": "read_marker", "channel_id": channel, "last_read_seq": 5, "unread_count": 0, "mention_count": 0});
    assert_eq!(a.next_of("read_marker").await, mine);
    assert_eq!(read_markers(&until_pong(&mut b1).await), Vec::<&Value>::new());
}

#[tokio::test]
async fn preferences_reach_every_session_of_mine_and_nobody_else() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let (mut b1, ready) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    assert_eq!(ready["channels"][0]["preferences"], json!({"notify": "mentions", "muted": false}));
    let (mut b2, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    let path = format!("/api/v1/channels/{channel}/preferences");
    let body = json!({"muted": true});
    let response = app.http.put(app.url(&path)).bearer_auth(&bob.token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let changed =
        json!({"type": "preferences", "channel_id": channel, "preferences": {"notify": "mentions", "muted": true}});
    assert_eq!(b1.next_of("preferences").await, changed);
    assert_eq!(b2.next_of("preferences").await, changed);
    let others = until_pong(&mut a).await;
    assert!(!others.iter().any(|f| f["type"] == "preferences"), "alice hears nothing of bob's: {others:?}");
}

#[tokio::test]
async fn a_block_reaches_every_session_of_mine_and_nobody_else() {
    let app = spawn_app().await;
    let (alice, bob, _) = pair(&app).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let (mut b1, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let (mut b2, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    let path = format!("/api/v1/me/blocks/{}", alice.id);
    let response = app.http.put(app.url(&path)).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let blocked = json!({"type": "blocked", "user_id": alice.id, "blocked": true});
    assert_eq!(b1.next_of("blocked").await, blocked);
    assert_eq!(b2.next_of("blocked").await, blocked);
    let response = app.http.delete(app.url(&path)).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(b2.next_of("blocked").await, json!({"type": "blocked", "user_id": alice.id, "blocked": false}));
    let others = until_pong(&mut a).await;
    assert!(!others.iter().any(|f| f["type"] == "blocked"), "alice is not told: {others:?}");
}
