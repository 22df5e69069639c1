//! The headers of every kind of response: the web client's CSP, nosniff,
//! no framing and the referrer policy everywhere, HSTS when the public URL
//! is https, and `Cache-Control: no-store` on every API answer.

use parley_testkit::app::{spawn_app_with, TestApp};
use reqwest::header::HeaderMap;
use reqwest::{header, Method, RequestBuilder, StatusCode};
use serde_json::json;

/// What every response carries; HSTS exactly when `https`.
fn check_every_response(what: &str, headers: &HeaderMap, https: bool) {
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
    match headers.get("strict-transport-security") {
        Some(hsts) => assert!(https && hsts == "max-age=31536000", "{what}: {hsts:?}"),
        None => assert!(!https, "{what}: no HSTS"),
    }
}

/// Sends `request`, checks its status and headers; `api`: it must not be stored.
async fn check(what: &str, request: RequestBuilder, status: StatusCode, api: bool, https: bool) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers();
    check_every_response(what, headers, https);
    let cache = headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap());
    if api {
        assert_eq!(cache, Some("no-store"), "{what}");
    } else {
        assert_ne!(cache, Some("no-store"), "{what}: a page or an asset may be cached (and revalidated)");
    }
}

fn get(app: &TestApp, path: &str) -> RequestBuilder {
    app.http.get(app.url(path))
}

/// A WebSocket upgrade request that carries the cookie of `token` from elsewhere.
fn foreign_upgrade(app: &TestApp, token: &str) -> RequestBuilder {
    get(app, "/api/v1/ws")
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .header(header::COOKIE, format!("parley_session={token}"))
        .header(header::ORIGIN, "http://evil.example")
}

#[tokio::test]
async fn every_kind_of_response_carries_them() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let credentials = json!({"username": "alice", "password": "correct horse battery"});
    let register = app.http.post(app.url("/api/v1/auth/register")).json(&credentials);
    check("register (a token)", register, StatusCode::CREATED, true, false).await;
    let login = app.http.post(app.url("/api/v1/auth/login")).json(&credentials);
    let response = login.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    check_every_response("login (a token)", response.headers(), false);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "login (a token)");
    let token = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let authed = |method: Method, path: &str| app.http.request(method, app.url(path)).bearer_auth(&token);

    let pages = [("index", "/"), ("a deep link", "/c/x"), ("a stylesheet", "/app.css"), ("a script", "/js/main.js")];
    for (what, path) in pages {
        check(what, get(&app, path), StatusCode::OK, false, false).await;
    }
    check("an unknown script", get(&app, "/js/nope.js"), StatusCode::NOT_FOUND, false, false).await;
    check("an unknown page", get(&app, "/surely-not-routed"), StatusCode::NOT_FOUND, false, false).await;
    for (what, path) in [("/healthz", "/healthz"), ("/readyz", "/readyz")] {
        check(what, get(&app, path), StatusCode::OK, false, false).await;
    }
    check("/metrics on the public port", get(&app, "/metrics"), StatusCode::NOT_FOUND, true, false).await;

    check("authenticated JSON", authed(Method::GET, "/api/v1/me"), StatusCode::OK, true, false).await;
    check("a channel list", authed(Method::GET, "/api/v1/channels"), StatusCode::OK, true, false).await;
    check("public JSON", get(&app, "/api/v1/openapi.json"), StatusCode::OK, true, false).await;
    check("401", get(&app, "/api/v1/me"), StatusCode::UNAUTHORIZED, true, false).await;
    let malformed = authed(Method::POST, "/api/v1/channels").header(header::CONTENT_TYPE, "application/json").body("{");
    check("400", malformed, StatusCode::BAD_REQUEST, true, false).await;
    check("404 under /api/v1", authed(Method::GET, "/api/v1/nothing"), StatusCode::NOT_FOUND, true, false).await;
    let channel = "/api/v1/channels/01900000-0000-7000-8000-000000000000";
    check("404 of a channel", authed(Method::GET, channel), StatusCode::NOT_FOUND, true, false).await;
    check("405", authed(Method::DELETE, "/api/v1/me"), StatusCode::METHOD_NOT_ALLOWED, true, false).await;
    check("a refused upgrade", foreign_upgrade(&app, &token), StatusCode::FORBIDDEN, true, false).await;
    check("not an upgrade", get(&app, "/api/v1/ws"), StatusCode::BAD_REQUEST, true, false).await;
    let stream = authed(Method::GET, "/api/v1/stream");
    let response = stream.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
    check_every_response("SSE", response.headers(), false);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "SSE");
    drop(response);

    let private = app.metrics_addr.unwrap();
    for (what, path, status) in [
        ("/metrics", "/metrics", StatusCode::OK),
        ("/healthz (metrics listener)", "/healthz", StatusCode::OK),
        ("404 (metrics listener)", "/nothing", StatusCode::NOT_FOUND),
    ] {
        let request = app.http.get(format!("http://{private}{path}"));
        check(what, request, status, path == "/metrics", false).await;
    }
}

#[tokio::test]
async fn hsts_only_when_the_public_url_is_https() {
    let app = spawn_app_with(|c| c.public_url = Some("https://chat.example.com".parse().unwrap())).await;
    check("index", get(&app, "/"), StatusCode::OK, false, true).await;
    check("/healthz", get(&app, "/healthz"), StatusCode::OK, false, true).await;
    check("401", get(&app, "/api/v1/me"), StatusCode::UNAUTHORIZED, true, true).await;
    check("404", get(&app, "/surely-not-routed"), StatusCode::NOT_FOUND, false, true).await;

    let app = spawn_app_with(|c| c.public_url = Some("http://chat.example.com:8080".parse().unwrap())).await;
    check("index over http", get(&app, "/"), StatusCode::OK, false, false).await;
    check("401 over http", get(&app, "/api/v1/me"), StatusCode::UNAUTHORIZED, true, false).await;
}
