//! Health, readiness, metrics, unknown endpoints, body limits.

use parley_testkit::app::{spawn_app, spawn_app_with};
use reqwest::{header, Method, StatusCode};

#[tokio::test]
async fn health_ready_and_metrics_on_their_own_listener() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let alice = app.register("alice").await;
    let channel = app.create_channel(&alice, "general", "public").await;
    app.send(&alice, &channel, "m1", "hello").await;

    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let private = app.metrics_addr.expect("the metrics listener's address");
    assert_ne!(private, app.addr);
    let metrics = app.http.get(format!("http://{private}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("parley_messages_stored_total 1"), "{text}");
    assert!(text.contains("parley_events_stored_total 2"), "{text}");
    assert!(text.contains("parley_http_responses_total{class=\"2xx\"}"), "{text}");
    for path in ["/healthz", "/readyz"] {
        let response = app.http.get(format!("http://{private}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path} on the metrics listener");
    }
    // The metrics listener serves nothing else; the public port not /metrics.
    for path in ["/", "/api/v1/me"] {
        let response = app.http.get(format!("http://{private}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path} on the metrics listener");
    }
    let public = app.http.get(app.url("/metrics")).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_are_not_on_the_public_port_unless_a_token_opens_them() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(app.metrics_addr, None);

    const TOKEN: &str = "a-metrics-token-of-some-length";
    let app = spawn_app_with(|c| c.metrics_token = Some(TOKEN.parse().unwrap())).await;
    let alice = app.register("alice").await;
    for (token, why) in [
        (None, "no token"),
        (Some("a-metrics-token-of-some-lengthy"), "a wrong one"),
        (Some(alice.token.as_str()), "a session's"),
    ] {
        let mut request = app.http.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer", "{why}");
    }
    let response = app.http.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert!(response.text().await.unwrap().contains("parley_http_connections "));
}

#[tokio::test]
async fn unknown_endpoints_and_methods_use_the_error_body() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (status, body) = app.get("/api/v1/nothing-here", &alice.token).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &serde_json::json!("not_found")));
    let (status, body) = app.call(Method::DELETE, "/api/v1/me", Some(&alice.token), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let channel = app.create_channel(&alice, "general", "public").await;
    let huge = serde_json::json!({"body": "x".repeat(1 << 20), "client_msg_id": "m"});
    let (status, body) = app.post(&format!("/api/v1/channels/{channel}/messages"), &alice.token, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn api_responses_say_nosniff() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

/// `/` serves the web client with a CSP that allows no inline script and no framing.
#[tokio::test]
async fn the_web_client_is_served_with_strict_headers() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/invite/abc", "text/html"),
        ("/reset/abc", "text/html"),
        ("/app.css", "text/css"),
        ("/js/main.js", "text/javascript"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/sw.js", "text/javascript"),
        ("/icon-192.png", "image/png"),
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    let index = app.http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(index.contains(r#"<script type="module" src="/js/main.js"></script>"#));
    assert!(!index.contains("<script>"), "no inline script");
    assert_eq!(app.http.get(app.url("/js/nope.js")).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // The worker keeps every file of the client, under a version of their contents.
    let worker = app.http.get(app.url("/sw.js")).send().await.unwrap().text().await.unwrap();
    assert!(!worker.contains("__VERSION__") && !worker.contains("__SHELL__"), "{worker}");
    for path in ["\"/\"", "\"/js/main.js\"", "\"/js/store.js\"", "\"/app.css\"", "\"/icon-512.png\""] {
        assert!(worker.contains(path), "the shell lacks {path}");
    }
    let manifest: serde_json::Value =
        app.http.get(app.url("/manifest.webmanifest")).send().await.unwrap().json().await.unwrap();
    for icon in manifest["icons"].as_array().unwrap() {
        let src = icon["src"].as_str().unwrap();
        assert_eq!(app.http.get(app.url(src)).send().await.unwrap().status(), StatusCode::OK, "{src}");
        assert!(worker.contains(&format!("\"{src}\"")), "the shell lacks the icon {src}");
    }
}
