//! Register, login, logout, me, users, cookies and the Origin check.

use parley_testkit::app::{spawn_app, TestApp};
use reqwest::{header, Method, StatusCode};
use serde_json::json;

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";

#[tokio::test]
async fn register_returns_user_token_and_cookie() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url(REGISTER))
        .json(&json!({"username": "Alice", "password": "correct horse", "display_name": "Alice A."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("parley_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["display_name"], "Alice A.");
    assert!(body["user"]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["token"].as_str().unwrap().len(), 43);
}

#[tokio::test]
async fn duplicate_username_in_another_case_conflicts() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (status, body) = app
        .call(Method::POST, REGISTER, None, Some(json!({"username": "ALICE", "password": "another password"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");
}

#[tokio::test]
async fn register_refuses_bad_input() {
    let app = spawn_app().await;
    for body in [
        json!({"username": "al", "password": "long enough"}),
        json!({"username": "a".repeat(33), "password": "long enough"}),
        json!({"username": "al ice", "password": "long enough"}),
        json!({"username": "alice", "password": "short"}),
        json!({"username": "alice", "password": "x".repeat(1025)}),
        json!({"username": "alice", "password": "long enough", "display_name": " "}),
        json!({"username": "alice"}),
        json!({"username": 5, "password": "long enough"}),
        json!({"username": "Here", "password": "long enough"}),
        json!({"username": "everyone", "password": "long enough"}),
    ] {
        let (status, answer) = app.call(Method::POST, REGISTER, None, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
    }
    let response = app.http.post(app.url(REGISTER)).body("{not json").header("content-type", "application/json").send();
    assert_eq!(response.await.unwrap().status(), StatusCode::BAD_REQUEST);
}

async fn rename(app: &TestApp, token: &str, name: &str) -> (StatusCode, serde_json::Value) {
    app.call(Method::PATCH, "/api/v1/me", Some(token), Some(json!({ "display_name": name }))).await
}

/// A display name that hides characters or reverses text is 400; one that
/// looks like another user's username or display name is 409, and so is a
/// username that looks like another's; your own username is yours to use.
#[tokio::test]
async fn display_names_that_hide_or_impersonate_are_refused() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let body = json!({"username": "bob", "password": "correct horse", "display_name": "Bob Builder"});
    assert_eq!(app.call(Method::POST, REGISTER, None, Some(body)).await.0, StatusCode::CREATED);
    let carol = app.register("carol").await;

    for (name, shown) in [("\u{202E}ecila", "U+202E"), ("al\u{200B}ice", "U+200B"), ("\u{2066}alice", "U+2066")] {
        let (status, body) = rename(&app, &carol.token, name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("invisible or text-direction") && message.contains(shown), "{message}");
    }
    // What each is drawn like: the skeleton maps Cyrillic а to a, 1 and a
    // capital I to l; case is folded, and a run of spaces is one.
    for name in ["\u{0430}lice", "a1ice", "AIice", "ALICE", "Alice", "Bob Builder", "bob  BUILDER"] {
        let (status, body) = rename(&app, &carol.token, name).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name:?}: {body}");
        assert_eq!(body["error"]["message"], "that display name looks like another user's name");
    }
    assert_eq!(app.get("/api/v1/me", &carol.token).await.1["user"]["display_name"], "carol", "nothing stored");
    let (status, body) = rename(&app, &carol.token, "Carol \u{1F469}\u{200D}\u{1F4BB}").await;
    assert_eq!(status, StatusCode::OK, "a joiner inside an emoji: {body}");
    for name in ["Alice", "ALICE"] {
        let (status, body) = rename(&app, &alice.token, name).await;
        assert_eq!(status, StatusCode::OK, "{name:?} looks like alice's own username: {body}");
    }

    let register = |username: &str, display_name: &str| {
        let body = json!({"username": username, "password": "correct horse", "display_name": display_name});
        app.call(Method::POST, REGISTER, None, Some(body))
    };
    let (status, body) = register("a1ice", "Someone").await;
    assert_eq!(
        (status, &body["error"]["message"]),
        (StatusCode::CONFLICT, &json!("that username looks like another user's name"))
    );
    let (status, body) = register("dave", "B\u{043E}b Builder").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["message"], "that display name looks like another user's name");
    let (status, body) = register("eve", "E\u{0301}ve").await;
    assert_eq!((status, &body["user"]["display_name"]), (StatusCode::CREATED, &json!("\u{00C9}ve")), "stored in NFC");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_answer_alike() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (ok, body) = app
        .call(Method::POST, LOGIN, None, Some(json!({"username": "ALICE", "password": "correct horse battery"})))
        .await;
    assert_eq!(ok, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["username"], "alice");

    let (wrong, wrong_body) =
        app.call(Method::POST, LOGIN, None, Some(json!({"username": "alice", "password": "wrong password"}))).await;
    let (unknown, unknown_body) =
        app.call(Method::POST, LOGIN, None, Some(json!({"username": "nobody", "password": "wrong password"}))).await;
    let (invalid, invalid_body) =
        app.call(Method::POST, LOGIN, None, Some(json!({"username": "n!", "password": "wrong password"}))).await;
    assert_eq!(wrong, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(wrong_body, invalid_body);
    assert_eq!((unknown, invalid), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong_body["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    assert_eq!(app.get("/api/v1/me", &alice.token).await.0, StatusCode::OK);
    let (status, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&alice.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get("/api/v1/me", &alice.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(app.get("/api/v1/me", "garbage").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::GET, "/api/v1/me", None, None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn me_and_users() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob_b").await;
    app.register("bobby").await;

    let (status, body) = app.get("/api/v1/me", &alice.token).await;
    assert_eq!((status, body["user"]["id"].as_str()), (StatusCode::OK, Some(alice.id.as_str())));
    let (status, body) =
        app.call(Method::PATCH, "/api/v1/me", Some(&alice.token), Some(json!({"display_name": "  Al  "}))).await;
    assert_eq!((status, &body["user"]["display_name"]), (StatusCode::OK, &json!("Al")));
    assert_eq!(app.get("/api/v1/me", &alice.token).await.1["user"]["display_name"], "Al");
    let (status, _) =
        app.call(Method::PATCH, "/api/v1/me", Some(&alice.token), Some(json!({"display_name": "x".repeat(65)}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app.get("/api/v1/users?q=BOB", &alice.token).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["bob_b", "bobby"]);
    let (_, body) = app.get("/api/v1/users?q=bob_", &alice.token).await;
    assert_eq!(body["users"].as_array().unwrap().len(), 1, "'_' is literal: {body}");

    let (status, body) = app.get(&format!("/api/v1/users/{}", bob.id), &alice.token).await;
    assert_eq!((status, &body["user"]["username"]), (StatusCode::OK, &json!("bob_b")));
    let unknown = "01900000-0000-7000-8000-000000000000";
    assert_eq!(app.get(&format!("/api/v1/users/{unknown}"), &alice.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/users/not-an-id", &alice.token).await.0, StatusCode::NOT_FOUND);
}

async fn usernames(app: &TestApp, token: &str, path: String) -> Vec<String> {
    let (status, body) = app.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
}

/// People search finds the start of a username, of a later part of it and of
/// any word of a display name, ignoring case; username prefixes first.
#[tokio::test]
async fn people_search_finds_name_parts_and_display_words() {
    let app = spawn_app().await;
    let me = app.register("searcher").await;
    for (username, display_name) in [
        ("mary.jones", "Mary Jones"),
        ("ali", "Ali"),
        ("drsmith", "Dr Alice Smith"),
        ("zed_alison", "Zed"),
        ("malice", "Mal"),
    ] {
        let body = json!({"username": username, "password": "correct horse", "display_name": display_name});
        assert_eq!(app.call(Method::POST, REGISTER, None, Some(body)).await.0, StatusCode::CREATED);
    }
    let search = |q: &str| usernames(&app, &me.token, format!("/api/v1/users?q={q}"));
    let found = search("jones").await;
    assert_eq!(found, ["mary.jones"], "a part after `.`");
    let found = search("ALI").await;
    assert_eq!(found, ["ali", "drsmith", "zed_alison"], "the prefix first, then a display word and a part");
    let found = search("smi").await;
    assert_eq!(found, ["drsmith"], "a later word of the display name");
    let found = search("dr%20ali").await;
    assert_eq!(found, ["drsmith"], "words in a row");
    let found = search("lice").await;
    assert!(found.is_empty(), "not from inside a word: {found:?}");
    let found = search("%25").await;
    assert!(found.is_empty(), "`%` is literal: {found:?}");
    let found = search("").await;
    assert_eq!(found, ["ali", "drsmith", "malice", "mary.jones", "searcher", "zed_alison"], "empty: everyone");

    for i in 0..21 {
        app.register(&format!("many{i:02}")).await;
    }
    let found = search("many").await;
    assert_eq!(found.len(), 20, "at most 20");
    assert_eq!(found.first().map(String::as_str), Some("many00"));
}

#[tokio::test]
async fn cookie_sessions_need_an_allowed_origin_to_change_state() {
    let app =
        parley_testkit::app::spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example".parse().unwrap()])
            .await;
    let alice = app.register("alice").await;
    let cookie = format!("parley_session={}", alice.token);
    let get = app.http.get(app.url("/api/v1/me")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);

    let create = |origin: Option<&str>, name: &str| {
        let mut request = app
            .http
            .post(app.url("/api/v1/channels"))
            .header(header::COOKIE, &cookie)
            .json(&json!({"name": name, "kind": "public"}));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    assert_eq!(create(None, "one").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(create(Some("https://evil.example"), "one").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(create(Some(&format!("http://{}", app.addr)), "one").await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(create(Some("https://chat.example"), "two").await.unwrap().status(), StatusCode::CREATED);
    // A bearer token is not sent by browsers on their own: no Origin needed.
    let (status, _) = app.post("/api/v1/channels", &alice.token, json!({"name": "x", "kind": "public"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_https_and_not_over_plain_http() {
    let cookie_of = |app: &TestApp, name: &'static str, forwarded: Option<&'static str>| {
        let mut request =
            app.http.post(app.url(REGISTER)).json(&json!({"username": name, "password": "correct horse"}));
        if let Some(proto) = forwarded {
            request = request.header("x-forwarded-proto", proto);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned()
        }
    };
    let plain = spawn_app().await;
    assert!(!cookie_of(&plain, "ann", None).await.contains("Secure"), "plain http");
    assert!(cookie_of(&plain, "bob", Some("https")).await.contains("; Secure"), "a proxy says https");
    let https =
        parley_testkit::app::spawn_app_with(|c| c.public_url = Some("https://chat.example.com".parse().unwrap())).await;
    assert!(cookie_of(&https, "cyd", None).await.contains("; Secure"), "the public URL is https");
}
