//! Invite links: create, preview, accept, limits of uses and time.

use std::time::Duration;

use parley_testkit::app::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn invite_brings_a_user_into_a_private_channel() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let secret = app.create_channel(&alice, "secret", "private").await;

    // Only members invite; to an outsider the channel does not exist.
    assert_eq!(
        app.post(&format!("/api/v1/channels/{secret}/invites"), &bob.token, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) =
        app.call(Method::POST, &format!("/api/v1/channels/{secret}/invites"), Some(&alice.token), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let invite = &body["invite"];
    assert_eq!(
        (&invite["channel_id"], &invite["uses"], &invite["max_uses"]),
        (&json!(secret), &json!(0), &json!(null))
    );
    let code = invite["code"].as_str().unwrap().to_owned();
    assert!(code.len() >= 22);

    // The preview needs no session.
    let (status, preview) = app.call(Method::GET, &format!("/api/v1/invites/{code}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(preview["channel"], json!({"id": secret, "name": "secret", "kind": "private", "member_count": 1}));

    let (status, joined) = app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    assert_eq!((status, &joined["channel"]["id"]), (StatusCode::OK, &json!(secret)));
    assert_eq!(joined["channel"]["member_count"], 2);
    let sent = app.send(&bob, &secret, "b1", "thanks for the invite").await;
    assert_eq!(sent["seq"], 3);
    // Accepting again as a member spends no use.
    app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    let (_, preview) = app.get(&format!("/api/v1/invites/{code}"), &bob.token).await;
    assert_eq!(preview["invite"]["uses"], 1);
}

#[tokio::test]
async fn used_up_and_expired_invites_are_not_found() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let secret = app.create_channel(&alice, "secret", "private").await;
    let invites = format!("/api/v1/channels/{secret}/invites");

    let (_, once) = app.post(&invites, &alice.token, json!({"max_uses": 1})).await;
    let once = once["invite"]["code"].as_str().unwrap().to_owned();
    assert_eq!(app.post(&format!("/api/v1/invites/{once}/accept"), &bob.token, json!({})).await.0, StatusCode::OK);
    let (status, body) = app.post(&format!("/api/v1/invites/{once}/accept"), &carol.token, json!({})).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    assert_eq!(app.get(&format!("/api/v1/invites/{once}"), &carol.token).await.0, StatusCode::NOT_FOUND);

    let (status, brief) = app.post(&invites, &alice.token, json!({"expires_in_seconds": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(brief["invite"]["expires_at"].is_string());
    let brief = brief["invite"]["code"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.post(&format!("/api/v1/invites/{brief}/accept"), &carol.token, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&format!("/api/v1/invites/{brief}"), &carol.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/v1/invites/nonsense/accept", &carol.token, json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/channels/{secret}/events"), &carol.token).await.0, StatusCode::NOT_FOUND);

    for bad in [
        json!({"max_uses": 0}),
        json!({"max_uses": 10_001}),
        json!({"expires_in_seconds": 0}),
        json!({"max_uses": "x"}),
    ] {
        assert_eq!(app.post(&invites, &alice.token, bad.clone()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}
