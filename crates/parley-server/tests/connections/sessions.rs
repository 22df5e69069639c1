//! Live sessions per user (20) and per client address (200), WebSocket and
//! SSE together: the one past the limit is refused as docs/protocol.md
//! says, and there is room again once one closes.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use parley_testkit::app::{spawn_app, spawn_app_with, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

/// A WebSocket session of `token`, optionally claiming to be forwarded for
/// `forwarded_for`: the client, ready; or the HTTP status that refused the
/// upgrade; or the close code (with the error frame before it).
async fn session(addr: SocketAddr, token: &str, forwarded_for: Option<&str>) -> Result<WsClient, Refused> {
    let mut request = format!("ws://{addr}/api/v1/ws").into_client_request().unwrap();
    if let Some(client) = forwarded_for {
        request.headers_mut().insert("x-forwarded-for", client.parse().unwrap());
    }
    let socket = match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => socket,
        Err(WsError::Http(response)) => {
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap_or_default();
            return Err(Refused::Http(response.status().as_u16(), retry_after, body));
        }
        Err(error) => panic!("upgrade failed: {error}"),
    };
    let mut client = WsClient { socket };
    client.send(json!({"type": "hello", "token": token})).await;
    let first = client.next().await;
    match first["type"].as_str() {
        Some("ready") => Ok(client),
        Some("error") => Err(Refused::Closed(first, client.closed().await)),
        other => panic!("unexpected first frame {other:?}"),
    }
}

#[derive(Debug)]
enum Refused {
    /// Status, `Retry-After`, error body.
    Http(u16, Option<String>, Value),
    /// The error frame, then the close code.
    Closed(Value, Option<u16>),
}

/// Tries `session` until one is ready (within 5 s): a place is given back
/// when the server has seen the closed socket, a moment after the client.
async fn session_once_room(addr: SocketAddr, token: &str, forwarded_for: Option<&str>) -> WsClient {
    let started = Instant::now();
    loop {
        match session(addr, token, forwarded_for).await {
            Ok(client) => return client,
            Err(refused) => assert!(started.elapsed() < Duration::from_secs(5), "still refused: {refused:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stream(app: &TestApp, user: &TestUser) -> reqwest::Response {
    app.http.get(app.url("/api/v1/stream")).bearer_auth(&user.token).send().await.unwrap()
}

#[tokio::test]
async fn the_21st_session_of_one_user_is_refused_and_one_closing_makes_room() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut sessions = Vec::new();
    for _ in 0..19 {
        sessions.push(session(app.addr, &alice.token, None).await.expect("within the limit"));
    }
    let sse = stream(&app, &alice).await;
    assert_eq!(sse.status(), 200, "an SSE stream counts as a session too: the 20th");

    // A 21st WebSocket: the user is known only from hello, so after it an
    // error frame and close 4029.
    match session(app.addr, &alice.token, None).await {
        Err(Refused::Closed(error, code)) => {
            assert_eq!(error["code"], "rate_limited", "{error}");
            assert!(error["message"].as_str().unwrap().contains("at most 20"), "{error}");
            assert_eq!(code, Some(4029));
        }
        Err(other) => panic!("the 21st WebSocket: {other:?}"),
        Ok(_) => panic!("the 21st WebSocket was accepted"),
    }
    // A 21st SSE stream: 429 before it starts.
    let refused = stream(&app, &alice).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "10");
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
    // Nobody else is held back.
    let bob = app.register("bob").await;
    session(app.addr, &bob.token, None).await.expect("bob's session");

    // One of hers closes: room for one more, and only one.
    drop(sessions.pop());
    let _again = session_once_room(app.addr, &alice.token, None).await;
    assert!(session(app.addr, &alice.token, None).await.is_err(), "full again");
    drop(sse);
}

#[tokio::test]
async fn the_201st_session_from_one_address_is_refused_with_429_before_the_upgrade() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..11 {
        users.push(app.register(&format!("user{i}")).await);
    }
    // Ten people behind one address, twenty sessions each: 200.
    let mut sessions = Vec::new();
    for user in &users[..10] {
        for _ in 0..20 {
            sessions.push(session(app.addr, &user.token, None).await.expect("within the limits"));
        }
    }
    let newcomer = &users[10];
    let refused = |result: Result<WsClient, Refused>| match result {
        Err(Refused::Http(status, retry_after, body)) => {
            assert_eq!((status, retry_after.as_deref()), (429, Some("10")));
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("at most 200"), "{body}");
        }
        Err(other) => panic!("the 201st session: {other:?}"),
        Ok(_) => panic!("the 201st session was accepted"),
    };
    refused(session(app.addr, &newcomer.token, None).await);
    // X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    refused(session(app.addr, &newcomer.token, Some("203.0.113.7")).await);
    assert_eq!(stream(&app, newcomer).await.status(), 429, "nor an SSE stream");

    drop(sessions.pop());
    session_once_room(app.addr, &newcomer.token, None).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own() {
    let app = spawn_app_with(|c| {
        c.limits.max_sessions_per_address = 2;
        c.trusted_proxies = vec![IpAddr::from([127, 0, 0, 1]).into()];
    })
    .await;
    let alice = app.register("alice").await;
    let first = Some("198.51.100.1");
    let _held = [
        session(app.addr, &alice.token, first).await.expect("1st"),
        session(app.addr, &alice.token, first).await.expect("2nd"),
    ];
    assert!(matches!(session(app.addr, &alice.token, first).await, Err(Refused::Http(429, ..))));
    let proxy_chain = Some("6.6.6.6, 198.51.100.2");
    session(app.addr, &alice.token, proxy_chain).await.expect("another client: the rightmost address counts");
}

#[tokio::test]
async fn limits_of_zero_mean_no_limit() {
    let app = spawn_app_with(|c| {
        c.limits.max_sessions_per_user = 0;
        c.limits.max_sessions_per_address = 0;
    })
    .await;
    let alice = app.register("alice").await;
    let mut sessions = Vec::new();
    for _ in 0..25 {
        sessions.push(session(app.addr, &alice.token, None).await.expect("no limit"));
    }
}
