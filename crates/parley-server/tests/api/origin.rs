//! The Origin check of cookie sessions: the server's own origin is its
//! `--public-url`, else its listen address's; `Host` proves nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{SinkExt, StreamExt};
use parley_testkit::app::{spawn_app, spawn_app_with, TestApp, TestUser};
use reqwest::{header, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A cookie-authenticated POST that creates a channel, with these headers.
async fn cookie_post(app: &TestApp, user: &TestUser, headers: &[(header::HeaderName, &str)]) -> StatusCode {
    static CHANNELS: AtomicUsize = AtomicUsize::new(0);
    let name = format!("room-{}", CHANNELS.fetch_add(1, Ordering::Relaxed));
    let mut request = app
        .http
        .post(app.url("/api/v1/channels"))
        .header(header::COOKIE, format!("parley_session={}", user.token))
        .json(&json!({"name": name, "kind": "public"}));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap().status()
}

/// Opens `/api/v1/ws` with the session cookie and these headers: the
/// refusal's status, or 101 and whether `hello` without a token was
/// answered `ready` (the cookie signed in).
async fn cookie_socket(app: &TestApp, user: &TestUser, headers: &[(&str, &str)]) -> (u16, bool) {
    let mut request = format!("ws://{}/api/v1/ws", app.addr).into_client_request().unwrap();
    let cookie = format!("parley_session={}", user.token);
    request.headers_mut().insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, HeaderValue::from_str(value).unwrap());
    }
    let mut socket = match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => socket,
        Err(WsError::Http(response)) => return (response.status().as_u16(), false),
        Err(other) => panic!("websocket: {other}"),
    };
    socket.send(Message::Text(json!({"type": "hello"}).to_string().into())).await.unwrap();
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => {
                let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["type"] == "ready" {
                    return (101, true);
                }
            }
            Message::Close(_) => return (101, false),
            _ => {}
        }
    }
    (101, false)
}

#[tokio::test]
async fn host_names_no_origin_of_ours() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let port = app.addr.port();
    let evil = [(header::HOST, "evil.example"), (header::ORIGIN, "http://evil.example")];
    assert_eq!(cookie_post(&app, &alice, &evil).await, StatusCode::FORBIDDEN);
    let evil_port = format!("evil.example:{port}");
    let evil_origin = format!("http://{evil_port}");
    let evil = [(header::HOST, evil_port.as_str()), (header::ORIGIN, evil_origin.as_str())];
    assert_eq!(cookie_post(&app, &alice, &evil).await, StatusCode::FORBIDDEN);

    let (status, signed_in) =
        cookie_socket(&app, &alice, &[("host", "evil.example"), ("origin", "http://evil.example")]).await;
    assert_eq!((status, signed_in), (403, false));
}

#[tokio::test]
async fn the_listen_address_is_our_origin_exactly() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let port = app.addr.port();
    for (refused, why) in [
        (format!("https://127.0.0.1:{port}"), "https on a plain-http server"),
        (format!("http://127.0.0.1:{port}/"), "a trailing slash"),
        (format!("http://127.0.0.1:{port}/x"), "a path"),
        (format!("http://127.0.0.1:{}", port.wrapping_add(1)), "another port"),
        ("http://127.0.0.1".to_owned(), "no port"),
        ("null".to_owned(), "an opaque origin"),
    ] {
        let headers = [(header::ORIGIN, refused.as_str())];
        assert_eq!(cookie_post(&app, &alice, &headers).await, StatusCode::FORBIDDEN, "{why}");
        assert_eq!(cookie_socket(&app, &alice, &[("origin", &refused)]).await, (403, false), "{why}");
    }
    assert_eq!(cookie_post(&app, &alice, &[]).await, StatusCode::FORBIDDEN, "no Origin");
    for ours in [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")] {
        let headers = [(header::ORIGIN, ours.as_str())];
        assert_eq!(cookie_post(&app, &alice, &headers).await, StatusCode::CREATED, "{ours}");
        assert_eq!(cookie_socket(&app, &alice, &[("origin", &ours)]).await, (101, true), "{ours}");
    }
    // A Host of ours does not make another Origin ours.
    let host = format!("127.0.0.1:{port}");
    let headers = [(header::HOST, host.as_str()), (header::ORIGIN, "http://evil.example")];
    assert_eq!(cookie_post(&app, &alice, &headers).await, StatusCode::FORBIDDEN);
    // Without Origin (not a browser) the socket is opened but the cookie is
    // not used: `hello` needs its token.
    assert_eq!(cookie_socket(&app, &alice, &[]).await, (101, false));
}

#[tokio::test]
async fn with_a_public_url_only_it_and_the_allowed_origins_count() {
    let app = spawn_app_with(|c| {
        c.public_url = Some("https://chat.example.com".parse().unwrap());
        c.allowed_origins = vec!["https://app.example:8443".parse().unwrap()];
    })
    .await;
    let alice = app.register("alice").await;
    let port = app.addr.port();
    for ours in ["https://chat.example.com", "https://chat.example.com:443", "https://app.example:8443"] {
        assert_eq!(cookie_post(&app, &alice, &[(header::ORIGIN, ours)]).await, StatusCode::CREATED, "{ours}");
        assert_eq!(cookie_socket(&app, &alice, &[("origin", ours)]).await, (101, true), "{ours}");
    }
    for refused in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        "http://chat.example.com".to_owned(),
        "https://chat.example.com/".to_owned(),
        "https://chat.example.com:8443".to_owned(),
        "https://app.example".to_owned(),
        "https://app.example:8443/".to_owned(),
    ] {
        let headers = [(header::ORIGIN, refused.as_str())];
        assert_eq!(cookie_post(&app, &alice, &headers).await, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(cookie_socket(&app, &alice, &[("origin", &refused)]).await, (403, false), "{refused}");
    }
    let headers = [(header::HOST, "chat.example.com"), (header::ORIGIN, "http://chat.example.com")];
    assert_eq!(cookie_post(&app, &alice, &headers).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_bearer_token_needs_no_origin() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let request = app.http.post(app.url("/api/v1/channels")).bearer_auth(&alice.token);
    let status = request
        .header(header::ORIGIN, "http://evil.example")
        .json(&json!({"name": "bearer", "kind": "public"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::CREATED, "a bearer token is not sent by a browser on its own");
}
