//! Channels added and removed live, presence, typing, outsiders.

use parley_testkit::app::spawn_app;
use parley_testkit::ws::WsClient;
use serde_json::json;

use super::pair;

#[tokio::test]
async fn joining_elsewhere_adds_the_channel_live() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let secret = app.create_channel(&alice, "secret", "private").await;
    let (_, invite) = app.post(&format!("/api/v1/channels/{secret}/invites"), &alice.token, json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap().to_owned();

    let (mut b, ready) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    assert_eq!(ready["channels"], json!([]));
    // Bob accepts on "another device" (REST).
    app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    let added = b.next_of("channel_added").await;
    assert_eq!((&added["channel"]["id"], &added["channel"]["name"]), (&json!(secret), &json!("secret")));
    let mine = &added["channel"];
    assert_eq!(
        (&mine["role"], &mine["unread_count"], &mine["mention_count"], &mine["preferences"]["notify"]),
        (&json!("member"), &json!(0), &json!(0), &json!("mentions")),
        "as my list shows it: {added}"
    );
    let joined = b.next_of("event").await;
    assert_eq!((&joined["event"]["type"], &joined["event"]["user_id"]), (&json!("member_joined"), &json!(bob.id)));
    app.send(&alice, &secret, "m1", "welcome").await;
    assert_eq!(b.next_of("event").await["event"]["body"], "welcome");

    // A new DM appears too; leaving removes the channel.
    let (_, dm) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": [bob.id]})).await;
    assert_eq!(b.next_of("channel_added").await["channel"]["id"], dm["channel"]["id"]);
    app.post(&format!("/api/v1/channels/{secret}/leave"), &bob.token, json!({})).await;
    assert_eq!(b.next_of("channel_removed").await["channel_id"], json!(secret));
    app.send(&alice, &secret, "m2", "bob is gone").await;
    app.send(&alice, dm["channel"]["id"].as_str().unwrap(), "d1", "dm").await;
    let next = b.next_of("event").await;
    assert_eq!(next["event"]["body"], "dm", "nothing more from the channel left");
}

#[tokio::test]
async fn outsiders_cannot_send_and_errors_keep_the_socket() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let secret = app.create_channel(&alice, "secret", "private").await;
    let (mut e, _) = WsClient::connect(app.addr, &eve.token, json!({})).await;
    e.post(7, &secret, "x", "let me in").await;
    assert_eq!(
        e.next_of("error").await,
        json!({"type": "error", "ref": 7, "code": "not_found", "message": "channel not found"})
    );
    e.send(json!({"type": "dance"})).await;
    assert_eq!(e.next_of("error").await["code"], "bad_request");
    e.socket.send(tokio_tungstenite::tungstenite::Message::Text("{not json".into())).await.unwrap();
    assert_eq!(e.next_of("error").await["code"], "bad_request");
    e.post(8, &secret, "x", &"y".repeat(4001)).await;
    assert_eq!(e.next_of("error").await["code"], "payload_too_large");
    e.send(json!({"type": "ping", "ref": "p"})).await;
    assert_eq!(e.next_of("pong").await, json!({"type": "pong", "ref": "p"}));
}

use futures::SinkExt;

#[tokio::test]
async fn presence_and_typing_reach_channel_mates() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));
    // Bob learns alice was online already.
    assert_eq!(b.next_of("presence").await["user_id"], json!(alice.id));
    a.send(json!({"type": "typing", "channel_id": channel})).await;
    assert_eq!(b.next_of("typing").await, json!({"type": "typing", "channel_id": channel, "user_id": alice.id}));
    // More typing within a second is not relayed: the next thing bob gets is the message.
    for _ in 0..50 {
        a.send(json!({"type": "typing", "channel_id": channel})).await;
    }
    a.post(1, &channel, "m1", "done typing").await;
    let next = loop {
        let frame = b.next().await;
        if frame["type"] == "typing" || frame["type"] == "event" {
            break frame;
        }
    };
    assert_eq!(next["type"], "event");
    drop(b);
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "offline"}));
}

#[tokio::test]
async fn joining_a_channel_introduces_its_online_members() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let lobby = app.create_channel(&alice, "lobby", "public").await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    // Bob shares no channel with alice yet: neither hears of the other.
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    app.post(&format!("/api/v1/channels/{lobby}/join"), &bob.token, json!({})).await;
    assert_eq!(b.next_of("presence").await, json!({"type": "presence", "user_id": alice.id, "status": "online"}));
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));
}

#[tokio::test]
async fn the_first_frame_must_be_hello_with_a_valid_session() {
    let app = spawn_app().await;
    let mut client = WsClient::open(app.addr).await;
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.closed().await, Some(4001));
    let mut client = WsClient::open(app.addr).await;
    client.send(json!({"type": "hello", "token": "not-a-session"})).await;
    assert_eq!(client.closed().await, Some(4001));
}
