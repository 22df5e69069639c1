//! Posting, idempotent retries, body limits, paging of the event log.

use parley_testkit::app::{spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn seqs(body: &Value) -> Vec<i64> {
    body["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn post_stores_and_a_retry_returns_the_first_event() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let general = app.create_channel(&alice, "general", "public").await;
    let path = format!("/api/v1/channels/{general}/messages");

    let (status, first) = app.post(&path, &alice.token, json!({"body": "  hello \n", "client_msg_id": "m-1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let event = &first["event"];
    assert_eq!((&event["type"], &event["body"], &event["seq"]), (&json!("message"), &json!("hello"), &json!(2)));
    assert_eq!((&event["sender_id"], &event["channel_id"]), (&json!(alice.id), &json!(general)));

    let (status, retry) = app.post(&path, &alice.token, json!({"body": "hello again?", "client_msg_id": "m-1"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry["event"], first["event"]);
    let (_, log) = app.get(&format!("/api/v1/channels/{general}/events"), &alice.token).await;
    assert_eq!(seqs(&log), [1, 2]);

    let (status, reply) =
        app.post(&path, &alice.token, json!({"body": "a reply", "client_msg_id": "m-2", "reply_to_seq": 2})).await;
    assert_eq!((status, &reply["event"]["reply_to_seq"]), (StatusCode::CREATED, &json!(2)));
    let (status, _) =
        app.post(&path, &alice.token, json!({"body": "x", "client_msg_id": "m-3", "reply_to_seq": 99})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bodies_are_bounded() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let general = app.create_channel(&alice, "general", "public").await;
    let path = format!("/api/v1/channels/{general}/messages");

    let (status, body) = app.post(&path, &alice.token, json!({"body": "x".repeat(4001), "client_msg_id": "a"})).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large")));
    let (status, body) = app.post(&path, &alice.token, json!({"body": " \n\t ", "client_msg_id": "b"})).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")));
    let (status, _) = app.post(&path, &alice.token, json!({"body": "ok", "client_msg_id": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post(&path, &alice.token, json!({"body": "ok", "client_msg_id": "x".repeat(65)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post(&path, &alice.token, json!({"body": "ok"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app.post(&path, &alice.token, json!({"body": "é".repeat(4000), "client_msg_id": "c"})).await;
    assert_eq!(status, StatusCode::CREATED, "4000 characters of two bytes each fit: {body}");
    let (_, log) = app.get(&format!("/api/v1/channels/{general}/events"), &alice.token).await;
    assert_eq!(seqs(&log), [1, 2], "nothing refused was stored");
}

#[tokio::test]
async fn outsiders_cannot_post() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let secret = app.create_channel(&alice, "secret", "private").await;
    let general = app.create_channel(&alice, "general", "public").await;
    let body = json!({"body": "hi", "client_msg_id": "x"});

    let (status, answer) = app.post(&format!("/api/v1/channels/{secret}/messages"), &bob.token, body.clone()).await;
    assert_eq!((status, &answer["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    assert_eq!(app.get(&format!("/api/v1/channels/{secret}/events"), &bob.token).await.0, StatusCode::NOT_FOUND);
    // A public channel is readable by anyone but written by members only.
    assert_eq!(app.get(&format!("/api/v1/channels/{general}/events"), &bob.token).await.0, StatusCode::OK);
    let (status, _) = app.post(&format!("/api/v1/channels/{general}/messages"), &bob.token, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn paging_is_exact_at_the_edges() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let general = app.create_channel(&alice, "general", "public").await;
    for i in 0..11 {
        app.send(&alice, &general, &format!("m{i}"), &format!("message {i}")).await;
    }
    // The log is seq 1 (alice joined) to 12.
    let page = |query: &str| {
        let path = format!("/api/v1/channels/{general}/events?{query}");
        let token = alice.token.clone();
        let app = &app;
        async move { app.get(&path, &token).await }
    };
    let expect = |body: &Value, want: Vec<i64>, more: bool| {
        assert_eq!((seqs(body), body["has_more"].as_bool().unwrap()), (want, more), "{body}");
    };
    expect(&page("after=0&limit=3").await.1, vec![1, 2, 3], true);
    expect(&page("after=9&limit=3").await.1, vec![10, 11, 12], false);
    expect(&page("after=10&limit=3").await.1, vec![11, 12], false);
    expect(&page("after=12").await.1, vec![], false);
    expect(&page("after=500").await.1, vec![], false);
    expect(&page("limit=3").await.1, vec![10, 11, 12], true);
    expect(&page("before=13&limit=3").await.1, vec![10, 11, 12], true);
    expect(&page("before=4&limit=3").await.1, vec![1, 2, 3], false);
    expect(&page("before=5&limit=3").await.1, vec![2, 3, 4], true);
    expect(&page("before=1").await.1, vec![], false);
    expect(&page("before=0").await.1, vec![], false);
    expect(&page("").await.1, (1..=12).collect(), false);
    expect(&page("after=0&limit=100000").await.1, (1..=12).collect(), false);
    for bad in ["limit=0", "limit=-1", "after=-1", "before=-2", "after=1&before=5", "after=abc", "limit=1.5"] {
        let (status, body) = page(bad).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")), "{bad}");
    }
}

#[tokio::test]
async fn sends_beyond_the_rate_are_limited() {
    let app = spawn_app_with(|c| c.send_rate = 1).await;
    let alice = app.register("alice").await;
    let general = app.create_channel(&alice, "general", "public").await;
    let path = format!("/api/v1/channels/{general}/messages");
    for i in 0..2 {
        let (status, _) = app.post(&path, &alice.token, json!({"body": "x", "client_msg_id": format!("m{i}")})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let response = app
        .http
        .post(app.url(&path))
        .bearer_auth(&alice.token)
        .json(&json!({"body": "x", "client_msg_id": "m9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}
