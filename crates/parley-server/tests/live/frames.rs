//! Malformed frames: errors in the protocol's terms, and the close codes docs/protocol.md gives.

use parley_testkit::app::spawn_app;
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};

/// Says `hello` with `resume`, and returns the error frame and the close code.
async fn hello_refused(app: &parley_testkit::app::TestApp, hello: Value) -> (Value, Option<u16>) {
    let mut client = WsClient::open(app.addr).await;
    client.send(hello).await;
    let error = client.next_of("error").await;
    (error, client.closed().await)
}

#[tokio::test]
async fn a_malformed_resume_closes_with_4400_and_says_which_entry() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let not_an_id = json!({"type": "hello", "token": alice.token, "resume": {"general": 3}});
    let (error, code) = hello_refused(&app, not_an_id).await;
    assert_eq!(code, Some(4400));
    assert_eq!(error["code"], "bad_request");
    assert_eq!(error["message"], r#""hello": "resume" has "general", which is not a channel id"#);

    let channel = app.create_channel(&alice, "general", "public").await;
    let negative = json!({"type": "hello", "token": alice.token, "resume": {channel.clone(): -1}});
    let (error, code) = hello_refused(&app, negative).await;
    assert_eq!(code, Some(4400));
    let expected = format!(r#""hello": the seq of channel {channel} in "resume" must not be negative"#);
    assert_eq!(error["message"], expected);

    let not_a_number = json!({"type": "hello", "token": alice.token, "resume": {channel: "5"}});
    let (error, code) = hello_refused(&app, not_a_number).await;
    assert_eq!(code, Some(4400));
    assert_eq!(error["message"], r#""hello": "resume" must be an object of channel id to seq (a whole number)"#);
}

#[tokio::test]
async fn a_first_frame_that_is_not_hello_still_closes_with_4001() {
    let app = spawn_app().await;
    let (error, code) = hello_refused(&app, json!({"type": "ping"})).await;
    assert_eq!((error["code"].as_str(), code), (Some("unauthenticated"), Some(4001)));
}

#[tokio::test]
async fn frame_errors_name_what_is_wrong_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut client, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let cases = [
        (json!({"type": "nope"}), r#"unknown frame type "nope""#),
        (json!({"type": "send", "ref": 1, "client_msg_id": "m", "body": "hi"}), r#""send" needs "channel_id""#),
        (json!({"type": "read", "channel_id": "c", "seq": "9"}), r#""read": "seq" must be a whole number"#),
        (json!({"type": "hello"}), "hello was already said"),
    ];
    for (frame, message) in cases {
        client.send(frame).await;
        let error = client.next_of("error").await;
        assert_eq!((error["code"].as_str(), error["message"].as_str()), (Some("bad_request"), Some(message)));
    }
    client.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(client.next_of("pong").await, json!({"type": "pong", "ref": 1}));
}
