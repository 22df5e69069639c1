//! Rate limits: login and registration throttling, a budget on every write
//! route and on searches, and retries of stored messages past the send rate.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use parley_server::rate::RateLimitSetting;
use parley_testkit::app::{spawn_app_with, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One answer: status, `Retry-After` in seconds, body.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    /// A refusal by a rate limit, with a `Retry-After` of 1 s to `most`.
    fn assert_limited(&self, most: u64, what: &str) {
        assert_eq!(self.status, StatusCode::TOO_MANY_REQUESTS, "{what}: {}", self.body);
        assert_eq!(self.body["error"]["code"], "rate_limited", "{what}");
        let after = self.retry_after.unwrap_or_else(|| panic!("{what}: no Retry-After"));
        assert!((1..=most).contains(&after), "{what}: Retry-After {after}");
    }
}

/// A request as from `client` (the server trusts 127.0.0.1 as a proxy in
/// the tests that set one), with an optional token and body.
async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    client: Option<&str>,
) -> Answer {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
    Answer { status, retry_after, body }
}

async fn login(app: &TestApp, username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    request(app, Method::POST, "/api/v1/auth/login", None, Some(body), None).await
}

fn settings(entries: &[&str]) -> Vec<RateLimitSetting> {
    entries.iter().map(|entry| entry.parse().unwrap()).collect()
}

#[tokio::test]
async fn the_eleventh_wrong_password_in_a_minute_is_429_while_others_sign_in_and_post() {
    // The defaults: 10 attempts per username, then one a minute; 60 per address.
    let app = spawn_app_with(|c| c.rate_limits.clear()).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let general = app.create_channel(&bob, "general", "public").await;

    for name in [&alice.username, "nobody"] {
        for i in 1..=10 {
            let refused = login(&app, name, "wrong password").await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{name}: attempt {i}: {}", refused.body);
        }
    }
    let path = format!("/api/v1/channels/{general}/messages");
    let (guess, right, unknown, bob_login, bob_post) = tokio::join!(
        login(&app, &alice.username, "wrong password"),
        login(&app, &alice.username, "correct horse battery"),
        login(&app, "nobody", "wrong password"),
        login(&app, &bob.username, "correct horse battery"),
        app.post(&path, &bob.token, json!({"body": "still here", "client_msg_id": "b1"})),
    );
    guess.assert_limited(60, "the 11th guess");
    right.assert_limited(60, "the right password after 10 wrong: nothing learnt");
    unknown.assert_limited(60, "an unknown username, alike");
    assert_eq!(bob_login.status, StatusCode::OK, "someone else signs in: {}", bob_login.body);
    assert_eq!(bob_post.0, StatusCode::CREATED, "and posts: {}", bob_post.1);
}

#[tokio::test]
async fn a_registration_flood_from_one_address_is_429_and_no_one_else_is() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = vec![IpAddr::from([127, 0, 0, 1]).into()];
        c.rate_limits = settings(&["all=0", "registrations-per-address=3/10m"]);
    })
    .await;
    let register = |name: String, client: &'static str| {
        let body = json!({"username": name, "password": "correct horse battery"});
        let app = &app;
        async move { request(app, Method::POST, "/api/v1/auth/register", None, Some(body), Some(client)).await }
    };
    let flooder = "203.0.113.7";
    let mut flood = Vec::new();
    for i in 0..6 {
        flood.push(register(format!("flood{i}"), flooder));
    }
    let answers = futures::future::join_all(flood).await;
    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    assert_eq!(created, 3, "three accounts from the flooding address");
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        refused.assert_limited(600, "the fourth and later");
    }
    let elsewhere = register("someone".into(), "198.51.100.20").await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "another address: {}", elsewhere.body);
    // The flooder's accounts still work: only registering is refused.
    let flooded = answers.iter().find(|a| a.status == StatusCode::CREATED).unwrap();
    let token = flooded.body["token"].as_str().unwrap();
    let channel = request(
        &app,
        Method::POST,
        "/api/v1/channels",
        Some(token),
        Some(json!({"name": "ok", "kind": "public"})),
        Some(flooder),
    )
    .await;
    assert_eq!(channel.status, StatusCode::CREATED);
}

/// A request each route class answers when its budget has room.
#[derive(Debug, Clone, Copy)]
enum Route {
    CreateChannel,
    Invite,
    OpenDm,
    Join,
    Leave,
    Accept,
    Profile,
    Read,
    Send,
    SearchUsers,
    PublicChannels,
    Login,
    Register,
}

struct World {
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
    channel: String,
    code: String,
    counter: AtomicU32,
}

async fn call(app: &TestApp, world: &World, route: Route) -> Answer {
    let n = world.counter.fetch_add(1, Ordering::Relaxed);
    let (alice, channel) = (Some(world.alice.token.as_str()), &world.channel);
    let post = |path: String, token: Option<&str>, body: Value| {
        let token = token.map(str::to_owned);
        async move { request(app, Method::POST, &path, token.as_deref(), Some(body), None).await }
    };
    let carol = Some(world.carol.token.as_str());
    match route {
        Route::CreateChannel => {
            post("/api/v1/channels".into(), alice, json!({"name": format!("c{n}"), "kind": "public"})).await
        }
        Route::Invite => post(format!("/api/v1/channels/{channel}/invites"), alice, json!({})).await,
        Route::OpenDm => post("/api/v1/dms".into(), alice, json!({"user_ids": [world.bob.id]})).await,
        Route::Join => post(format!("/api/v1/channels/{channel}/join"), carol, json!({})).await,
        Route::Leave => post(format!("/api/v1/channels/{channel}/leave"), carol, json!({})).await,
        Route::Accept => post(format!("/api/v1/invites/{}/accept", world.code), carol, json!({})).await,
        Route::Profile => {
            let body = json!({"display_name": format!("Alice {n}")});
            request(app, Method::PATCH, "/api/v1/me", alice, Some(body), None).await
        }
        Route::Read => post(format!("/api/v1/channels/{channel}/read"), alice, json!({"seq": 1})).await,
        Route::Send => {
            let body = json!({"body": "hi", "client_msg_id": format!("m{n}")});
            post(format!("/api/v1/channels/{channel}/messages"), alice, body).await
        }
        Route::SearchUsers => request(app, Method::GET, "/api/v1/users?q=b", alice, None, None).await,
        Route::PublicChannels => request(app, Method::GET, "/api/v1/channels/public?q=c", alice, None, None).await,
        Route::Login => {
            post("/api/v1/auth/login".into(), None, json!({"username": "alice", "password": "correct horse battery"}))
                .await
        }
        Route::Register => {
            let body = json!({"username": format!("new{n}"), "password": "correct horse battery"});
            post("/api/v1/auth/register".into(), None, body).await
        }
    }
}

/// Registers `name` as from `client` (through the trusted proxy).
async fn register_from(app: &TestApp, name: &str, client: &str) -> TestUser {
    let body = json!({"username": name, "password": "correct horse battery"});
    let answer = request(app, Method::POST, "/api/v1/auth/register", None, Some(body), Some(client)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let token = answer.body["token"].as_str().unwrap().to_owned();
    let id = answer.body["user"]["id"].as_str().unwrap().to_owned();
    TestUser { id, username: name.to_owned(), token }
}

#[tokio::test]
async fn every_write_route_answers_429_past_its_budget_and_recovers() {
    // Two at once, then one more every 5 s (room for two password hashes
    // on a busy machine before the third); messages: --send-rate 1 (two at
    // once, then one a second).
    let app = spawn_app_with(|c| {
        c.send_rate = 1;
        c.rate_limits = settings(&["all=2/10s"]);
        c.trusted_proxies = vec![IpAddr::from([127, 0, 0, 1]).into()];
    })
    .await;
    // Made from other addresses and by bob, so that alice, carol and
    // 127.0.0.1 start with full budgets.
    let alice = register_from(&app, "alice", "198.51.100.1").await;
    let bob = register_from(&app, "bob", "198.51.100.2").await;
    let carol = register_from(&app, "carol", "198.51.100.3").await;
    let channel = app.create_channel(&bob, "general", "public").await;
    let (_, invite) = app.post(&format!("/api/v1/channels/{channel}/invites"), &bob.token, json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap().to_owned();
    let (status, _) = app.post(&format!("/api/v1/channels/{channel}/join"), &alice.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let world = World { alice, bob, carol, channel, code, counter: AtomicU32::new(0) };

    use Route::*;
    // Each class: two taken, the third refused; the fourth once refilled.
    let classes: [(&str, [Route; 4]); 10] = [
        ("channels", [CreateChannel; 4]),
        ("invites", [Invite; 4]),
        ("DMs", [OpenDm; 4]),
        ("joins, leaves and accepted invites, together", [Join, Leave, Accept, Accept]),
        ("profile changes", [Profile; 4]),
        ("read markers", [Read; 4]),
        ("messages", [Send; 4]),
        (
            "searches: people and public channels, together",
            [SearchUsers, PublicChannels, PublicChannels, PublicChannels],
        ),
        ("logins", [Login; 4]),
        ("registrations", [Register; 4]),
    ];
    for (what, [one, two, three, _]) in &classes {
        for route in [one, two] {
            let answer = call(&app, &world, *route).await;
            assert!(answer.status.is_success(), "{what}: {route:?}: {} {}", answer.status, answer.body);
        }
        call(&app, &world, *three).await.assert_limited(5, what);
    }
    tokio::time::sleep(Duration::from_millis(5100)).await;
    for (what, [.., fourth]) in &classes {
        let answer = call(&app, &world, *fourth).await;
        assert!(answer.status.is_success(), "{what} recovered: {fourth:?}: {} {}", answer.status, answer.body);
    }
}

#[tokio::test]
async fn a_rate_limited_retry_answers_the_stored_event() {
    let app = spawn_app_with(|c| {
        c.send_rate = 1;
        c.rate_limits = settings(&["all=0", "read-markers=1/1m"]);
    })
    .await;
    let alice = app.register("alice").await;
    let general = app.create_channel(&alice, "general", "public").await;
    let path = format!("/api/v1/channels/{general}/messages");
    let send = |id: &'static str| {
        let body = json!({"body": format!("text of {id}"), "client_msg_id": id});
        let (app, path, token) = (&app, &path, alice.token.clone());
        async move { request(app, Method::POST, path, Some(&token), Some(body), None).await }
    };
    let first = send("m1").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(send("m2").await.status, StatusCode::CREATED);
    send("m3").await.assert_limited(1, "a new message past the rate");
    for _ in 0..3 {
        let retry = send("m1").await;
        assert_eq!(retry.status, StatusCode::OK, "a retry past the rate: {}", retry.body);
        assert_eq!(retry.body["event"], first.body["event"], "the event first stored");
    }

    // Over the socket: the retry is acked with its seq, a new one refused.
    let (mut ws, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    ws.post(1, &general, "m1", "again").await;
    let ack = ws.next_of("ack").await;
    assert_eq!((&ack["ref"], &ack["status"], &ack["seq"]), (&json!(1), &json!("stored"), &first.body["event"]["seq"]));
    ws.post(2, &general, "m4", "new").await;
    let refused = ws.next_of("error").await;
    assert_eq!((&refused["ref"], &refused["code"]), (&json!(2), &json!("rate_limited")), "{refused}");
    // Read markers have a budget of their own, over the socket too.
    ws.send(json!({"type": "read", "channel_id": general, "seq": 2})).await;
    assert_eq!(ws.next_of("read_marker").await["last_read_seq"], 2);
    ws.send(json!({"type": "read", "channel_id": general, "seq": 3})).await;
    assert_eq!(ws.next_of("error").await["code"], "rate_limited");

    let (_, log) = app.get(&format!("/api/v1/channels/{general}/events"), &alice.token).await;
    let bodies: Vec<&Value> = log["events"].as_array().unwrap().iter().map(|e| &e["body"]).collect();
    assert_eq!(bodies, [&Value::Null, &json!("text of m1"), &json!("text of m2")], "nothing stored twice");
}
