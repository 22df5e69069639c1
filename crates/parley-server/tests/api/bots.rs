//! Bots with API tokens, and incoming webhooks.

use parley_testkit::app::{spawn_app, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn bot_of(body: &Value) -> TestUser {
    TestUser {
        id: body["user"]["id"].as_str().expect("bot id").to_owned(),
        username: body["user"]["username"].as_str().expect("username").to_owned(),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

async fn hook(app: &TestApp, path: &str, body: Value, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url(path)).json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_bot_made_by_an_admin_uses_the_api_with_its_tokens() {
    let server = spawn_app().await;
    let app = &server;
    let admin = app.register("root").await;
    let alice = app.register("alice").await;

    let make = json!({"username": "ci-bot", "display_name": "CI"});
    assert_eq!(app.post("/api/v1/admin/bots", &alice.token, make.clone()).await.0, StatusCode::FORBIDDEN);
    let (status, body) = app.post("/api/v1/admin/bots", &admin.token, make.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((&body["user"]["bot"], &body["user"]["display_name"]), (&json!(true), &json!("CI")));
    let bot = bot_of(&body);
    assert_eq!(app.post("/api/v1/admin/bots", &admin.token, make).await.0, StatusCode::CONFLICT, "a taken name");
    let (_, me) = app.get("/api/v1/me", &bot.token).await;
    assert_eq!(me["user"]["id"], json!(bot.id));
    let login = json!({"username": "ci-bot", "password": "anything at all"});
    assert_eq!(app.call(Method::POST, "/api/v1/auth/login", None, Some(login)).await.0, StatusCode::UNAUTHORIZED);

    // Scoped to its channels: it sees and writes only where it is a member.
    let builds = app.create_channel(&alice, "builds", "private").await;
    let messages = format!("/api/v1/channels/{builds}/messages");
    let post = |key: &str| json!({"body": "build 41 passed", "client_msg_id": key});
    assert_eq!(app.post(&messages, &bot.token, post("b1")).await.0, StatusCode::NOT_FOUND);
    let (_, invite) = app.post(&format!("/api/v1/channels/{builds}/invites"), &alice.token, json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/v1/invites/{code}/accept"), &bot.token, json!({})).await.0, StatusCode::OK);
    let (mut live, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    assert_eq!(app.post(&messages, &bot.token, post("b1")).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&messages, &bot.token, post("b1")).await.0, StatusCode::OK, "exactly once");
    let seen = live.next_of("event").await;
    assert_eq!((&seen["event"]["sender_id"], &seen["event"]["body"]), (&json!(bot.id), &json!("build 41 passed")));

    // A second token; revoking one closes what it opened and nothing else.
    let tokens = format!("/api/v1/admin/bots/{}/tokens", bot.id);
    let (status, second) = app.post(&tokens, &admin.token, json!({"name": "deploys"})).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second_token = second["token"].as_str().unwrap().to_owned();
    let (mut bot_socket, _) = WsClient::connect(app.addr, &second_token, json!({})).await;
    let (_, listed) = app.get(&tokens, &admin.token).await;
    let names: Vec<&str> =
        listed["sessions"].as_array().unwrap().iter().filter_map(|s| s["user_agent"].as_str()).collect();
    assert!(names.contains(&"API token: deploys") && names.contains(&"API token: first"), "{listed}");
    let token_id = second["token_id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("{tokens}/{token_id}"), &admin.token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(bot_socket.closed().await, Some(4003));
    assert_eq!(app.get("/api/v1/me", &second_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me", &bot.token).await.0, StatusCode::OK, "the first token stays");
    assert_eq!(
        app.get(&format!("/api/v1/admin/bots/{}/tokens", alice.id), &admin.token).await.0,
        StatusCode::NOT_FOUND,
        "not a bot"
    );

    let (_, audit) = app.get("/api/v1/admin/audit", &admin.token).await;
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["bot.token_revoke", "bot.token", "bot.token", "bot.create"]);
}

#[tokio::test]
async fn an_incoming_webhook_posts_as_its_bot_until_revoked() {
    let server = spawn_app().await;
    let app = &server;
    let _admin = app.register("root").await;
    let owner = app.register("olive").await;
    let bob = app.register("bob").await;
    let room = app.create_channel(&owner, "alerts", "public").await;
    app.post(&format!("/api/v1/channels/{room}/join"), &bob.token, json!({})).await;
    let hooks = format!("/api/v1/channels/{room}/webhooks");
    assert_eq!(app.post(&hooks, &bob.token, json!({"name": "Grafana"})).await.0, StatusCode::FORBIDDEN);
    let (status, made) = app.post(&hooks, &owner.token, json!({"name": "Grafana"})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let path = made["path"].as_str().unwrap().to_owned();
    let bot_id = made["webhook"]["bot_id"].clone();
    let (mut live, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    let slack = json!({"text": "CPU above 90%", "username": "grafana", "icon_emoji": ":fire:"});
    let (status, answer) = hook(app, &path, slack.clone(), Some("alert-1")).await;
    assert_eq!((status, &answer["ok"]), (StatusCode::OK, &json!(true)), "{answer}");
    let (_, again) = hook(app, &path, slack, Some("alert-1")).await;
    assert_eq!(again["seq"], answer["seq"], "the same key stores once");
    let told = live.next_of("event").await;
    assert_eq!((&told["event"]["sender_id"], &told["event"]["body"]), (&bot_id, &json!("CPU above 90%")));
    let (_, bot) = app.get(&format!("/api/v1/users/{}", bot_id.as_str().unwrap()), &bob.token).await;
    assert_eq!((&bot["user"]["display_name"], &bot["user"]["bot"]), (&json!("Grafana"), &json!(true)));

    assert_eq!(hook(app, &path, json!({"username": "x"}), None).await.0, StatusCode::BAD_REQUEST, "no text");
    assert_eq!(hook(app, &path, json!({"text": "  "}), None).await.0, StatusCode::BAD_REQUEST, "blank");
    assert_eq!(hook(app, &path, json!({"text": "x".repeat(4001)}), None).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(hook(app, "/hooks/nope", json!({"text": "hi"}), None).await.0, StatusCode::NOT_FOUND);
    let (status, _) = hook(app, &path, json!({"text": "no key"}), None).await;
    assert_eq!(status, StatusCode::OK, "without a key, each post is its own");

    let (_, listed) = app.get(&hooks, &owner.token).await;
    let id = listed["webhooks"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["webhooks"][0]["name"], "Grafana");
    assert_eq!(app.delete(&format!("/api/v1/webhooks/{id}"), &bob.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&format!("/api/v1/webhooks/{id}"), &owner.token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(hook(app, &path, json!({"text": "after"}), None).await.0, StatusCode::NOT_FOUND, "revoked");
}
