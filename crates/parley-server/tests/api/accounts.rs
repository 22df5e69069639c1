//! Running a server: sign-up by policy and invite, the first account its
//! admin, server roles, deactivation, passwords, sessions, reset links,
//! invites listed and revoked, the audit log.

use std::time::{Duration, Instant};

use parley_core::accounts::Registration;
use parley_testkit::app::{spawn_app, spawn_app_with, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn sign_up(app: &TestApp, username: &str, invite: Option<&str>) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": PASSWORD, "invite": invite});
    app.call(Method::POST, "/api/v1/auth/register", None, Some(body)).await
}

fn user_of(body: &Value) -> TestUser {
    TestUser {
        id: body["user"]["id"].as_str().expect("user id").to_owned(),
        username: body["user"]["username"].as_str().expect("username").to_owned(),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

async fn login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": password});
    app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

async fn patch_user(app: &TestApp, admin: &TestUser, user: &TestUser, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, &format!("/api/v1/admin/users/{}", user.id), Some(&admin.token), Some(body)).await
}

#[tokio::test]
async fn the_first_account_is_the_admin_and_then_sign_up_takes_an_invite() {
    let app_server = spawn_app_with(|c| c.registration = Registration::Invite).await;
    let app = &app_server;
    let (status, server) = app.call(Method::GET, "/api/v1/server", None, None).await;
    assert_eq!((status, server), (StatusCode::OK, json!({"registration": "invite", "first_account": true})));

    let (status, body) = sign_up(app, "alice", None).await;
    assert_eq!((status, &body["user"]["role"]), (StatusCode::CREATED, &json!("admin")), "{body}");
    let alice = user_of(&body);
    let (_, server) = app.call(Method::GET, "/api/v1/server", None, None).await;
    assert_eq!(server["first_account"], false);

    let (status, body) = sign_up(app, "bob", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("invite link"), "{body}");
    let (status, _) = sign_up(app, "bob", Some("AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown invite");
    let (status, _) = sign_up(app, "bob", Some(&"A".repeat(5000))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a code far too long");

    // A join link: one use, made by an admin.
    let (status, link) = app.post("/api/v1/admin/join-links", &alice.token, json!({"max_uses": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    assert_eq!(link["invite"]["channel_id"], Value::Null);
    let code = link["invite"]["code"].as_str().unwrap().to_owned();
    let (status, preview) = app.call(Method::GET, &format!("/api/v1/invites/{code}"), None, None).await;
    assert_eq!((status, &preview["channel"]), (StatusCode::OK, &Value::Null), "a join link shows no channel");
    let (status, body) = sign_up(app, "bob", Some(&code)).await;
    assert_eq!((status, &body["user"]["role"]), (StatusCode::CREATED, &json!("member")), "{body}");
    let bob = user_of(&body);
    let (status, _) = sign_up(app, "carol", Some(&code)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "used up");
    let (_, open_link) = app.post("/api/v1/admin/join-links", &alice.token, json!({})).await;
    let open_code = open_link["invite"]["code"].as_str().unwrap();
    let (status, body) = app.post(&format!("/api/v1/invites/{open_code}/accept"), &bob.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a join link joins no channel: {body}");

    // A channel's invite lets someone in, into the channel.
    let club = app.create_channel(&bob, "club", "private").await;
    let (_, invite) = app.post(&format!("/api/v1/channels/{club}/invites"), &bob.token, json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap();
    let (status, body) = sign_up(app, "carol", Some(code)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let carol = user_of(&body);
    let (_, mine) = app.get("/api/v1/channels", &carol.token).await;
    let names: Vec<&str> = mine["channels"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["club"], "joined at sign-up");

    // Members cannot make join links or see them.
    assert_eq!(app.post("/api/v1/admin/join-links", &bob.token, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/admin/join-links", &bob.token).await.0, StatusCode::FORBIDDEN);
    let (status, links) = app.get("/api/v1/admin/join-links", &alice.token).await;
    assert_eq!((status, links["invites"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
}

#[tokio::test]
async fn closed_sign_up_refuses_everyone_and_open_takes_anyone() {
    let closed_server = spawn_app_with(|c| c.registration = Registration::Closed).await;
    let closed = &closed_server;
    let (status, body) = sign_up(closed, "alice", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "even the first: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("closed"));
    let (_, server) = closed.call(Method::GET, "/api/v1/server", None, None).await;
    assert_eq!(server, json!({"registration": "closed", "first_account": true}));

    let open_server = spawn_app().await;
    let open = &open_server;
    assert_eq!(open.register("alice").await.username, "alice");
    let (status, body) = sign_up(open, "bob", None).await;
    assert_eq!((status, &body["user"]["role"]), (StatusCode::CREATED, &json!("member")));
}

#[tokio::test]
async fn admins_change_roles_and_deactivate_with_every_step_audited() {
    let app_server = spawn_app().await;
    let app = &app_server;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;

    // A member may do none of it.
    assert_eq!(app.get("/api/v1/admin/users", &bob.token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(patch_user(app, &bob, &carol, json!({"deactivated": true})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/admin/audit", &bob.token).await.0, StatusCode::FORBIDDEN);

    let (status, users) = app.get("/api/v1/admin/users", &alice.token).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<(&str, &str)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [("alice", "admin"), ("bob", "member"), ("carol", "member")]);
    let (_, found) = app.get("/api/v1/admin/users?q=car&limit=5", &alice.token).await;
    assert_eq!(found["users"][0]["username"], "carol");
    assert_eq!(app.get("/api/v1/admin/users?limit=0", &alice.token).await.0, StatusCode::BAD_REQUEST);

    let (status, body) = patch_user(app, &alice, &bob, json!({"role": "admin"})).await;
    assert_eq!((status, &body["user"]["role"]), (StatusCode::OK, &json!("admin")), "{body}");
    assert_eq!(app.get("/api/v1/admin/users", &bob.token).await.0, StatusCode::OK, "bob is an admin now");
    assert_eq!(patch_user(app, &alice, &alice, json!({"role": "member"})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(patch_user(app, &alice, &bob, json!({"role": "owner"})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(patch_user(app, &alice, &bob, json!({})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(patch_user(app, &alice, &bob, json!({"rank": 1})).await.0, StatusCode::BAD_REQUEST);
    let nobody = TestUser { id: "01900000-0000-7000-8000-000000000000".into(), ..carol.clone() };
    assert_eq!(patch_user(app, &alice, &nobody, json!({"role": "admin"})).await.0, StatusCode::NOT_FOUND);

    // Deactivated: her open socket closes at once, her token and password no longer work.
    let (mut socket, _) = WsClient::connect(app.addr, &carol.token, json!({})).await;
    let started = Instant::now();
    let (status, body) = patch_user(app, &bob, &carol, json!({"deactivated": true})).await;
    assert_eq!((status, &body["user"]["deactivated"]), (StatusCode::OK, &json!(true)), "{body}");
    assert_eq!(socket.closed().await, Some(4003));
    assert!(started.elapsed() < Duration::from_secs(1), "closed in {:?}", started.elapsed());
    assert_eq!(app.get("/api/v1/me", &carol.token).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = login(app, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("deactivated"));
    assert_eq!(login(app, "carol", "wrong password!").await.0, StatusCode::UNAUTHORIZED, "told only with it");
    let (_, shown) = app.get(&format!("/api/v1/users/{}", carol.id), &alice.token).await;
    assert_eq!(shown["user"]["deactivated"], true, "shown as deactivated");

    let (status, _) = patch_user(app, &alice, &carol, json!({"deactivated": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login(app, "carol", PASSWORD).await.0, StatusCode::OK, "back");

    let (status, audit) = app.get("/api/v1/admin/audit?limit=2", &alice.token).await;
    assert_eq!(status, StatusCode::OK);
    let entry = |e: &Value| (e["action"].as_str().unwrap().to_owned(), e["actor_id"].clone(), e["user_id"].clone());
    let page: Vec<_> = audit["entries"].as_array().unwrap().iter().map(entry).collect();
    assert_eq!(
        page,
        [
            ("user.reactivate".to_owned(), json!(alice.id), json!(carol.id)),
            ("user.deactivate".to_owned(), json!(bob.id), json!(carol.id)),
        ]
    );
    assert_eq!(audit["has_more"], true);
    let last = audit["entries"][1]["id"].as_i64().unwrap();
    let (_, older) = app.get(&format!("/api/v1/admin/audit?before={last}"), &alice.token).await;
    let older: Vec<_> = older["entries"].as_array().unwrap().iter().map(entry).collect();
    assert_eq!(older, [("user.role".to_owned(), json!(alice.id), json!(bob.id))]);
    assert_eq!(audit["entries"][0]["detail"], json!({}));
}

#[tokio::test]
async fn a_new_password_ends_every_other_session_and_its_sockets() {
    let server = spawn_app().await;
    let app = &server;
    let first = app.register("alice").await;
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "Phone/1.0")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .expect("login sent");
    let phone = user_of(&response.json::<Value>().await.expect("a JSON answer"));

    let (status, sessions) = app.get("/api/v1/me/sessions", &first.token).await;
    assert_eq!(status, StatusCode::OK);
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let current: Vec<bool> = listed.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1, "{sessions}");
    assert!(listed.iter().any(|s| s["user_agent"] == "Phone/1.0"), "{sessions}");

    let (mut socket, _) = WsClient::connect(app.addr, &phone.token, json!({})).await;
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = app.post("/api/v1/me/password", &first.token, change("wrong one!", "a new secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        app.post("/api/v1/me/password", &first.token, change(PASSWORD, "short")).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = app.post("/api/v1/me/password", &first.token, change(PASSWORD, "a new secret")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(socket.closed().await, Some(4003), "the other session's socket");
    assert_eq!(app.get("/api/v1/me", &phone.token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me", &first.token).await.0, StatusCode::OK, "this one stays");
    assert_eq!(login(app, "alice", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = login(app, "alice", "a new secret").await;
    assert_eq!(status, StatusCode::OK);
    let third = user_of(&body);

    // Any of my sessions ends from another.
    let (_, sessions) = app.get("/api/v1/me/sessions", &first.token).await;
    let other = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].clone();
    let other = other.as_str().unwrap();
    let revoke = |id: &str| {
        let (path, token) = (format!("/api/v1/me/sessions/{id}"), first.token.clone());
        async move { app.delete(&path, &token).await }
    };
    assert_eq!(revoke(other).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &third.token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(revoke(other).await.0, StatusCode::NOT_FOUND, "already ended");
    let bob = app.register("bob").await;
    let (_, theirs) = app.get("/api/v1/me/sessions", &bob.token).await;
    let theirs = theirs["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(revoke(&theirs).await.0, StatusCode::NOT_FOUND, "not someone else's");
    assert_eq!(app.get("/api/v1/me", &bob.token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_link_works_once_and_ends_every_session() {
    let server = spawn_app().await;
    let app = &server;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let reset_link = |by: &TestUser, of: &TestUser| {
        let (path, token) = (format!("/api/v1/admin/users/{}/reset-link", of.id), by.token.clone());
        async move { app.call(Method::POST, &path, Some(&token), None).await }
    };
    assert_eq!(reset_link(&bob, &alice).await.0, StatusCode::FORBIDDEN);
    assert_eq!(reset_link(&alice, &alice).await.0, StatusCode::FORBIDDEN, "not one's own");
    let (status, link) = reset_link(&alice, &bob).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(link["path"], format!("/reset/{token}"));

    let (mut socket, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let reset = |token: &str, password: &str| {
        app.call(Method::POST, "/api/v1/auth/reset", None, Some(json!({"token": token, "password": password})))
    };
    assert_eq!(reset(&token, "short").await.0, StatusCode::BAD_REQUEST, "the password's rules");
    let (status, body) = reset(&token, "bob's new secret").await;
    assert_eq!((status, &body["user"]["username"]), (StatusCode::OK, &json!("bob")), "{body}");
    assert_eq!(socket.closed().await, Some(4003));
    assert_eq!(app.get("/api/v1/me", &bob.token).await.0, StatusCode::UNAUTHORIZED, "the old session ended");
    assert_eq!(app.get("/api/v1/me", body["token"].as_str().unwrap()).await.0, StatusCode::OK, "signed in");
    assert_eq!(reset(&token, "another secret").await.0, StatusCode::NOT_FOUND, "used once");
    assert_eq!(login(app, "bob", "bob's new secret").await.0, StatusCode::OK);

    let (_, audit) = app.get("/api/v1/admin/audit", &alice.token).await;
    assert_eq!(audit["entries"][0]["action"], "user.reset_link");
    patch_user(app, &alice, &bob, json!({"deactivated": true})).await;
    assert_eq!(reset_link(&alice, &bob).await.0, StatusCode::CONFLICT, "a deactivated account");
}

#[tokio::test]
async fn a_channels_owner_lists_and_revokes_its_invites() {
    let server = spawn_app().await;
    let app = &server;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let club = app.create_channel(&bob, "club", "public").await;
    app.post(&format!("/api/v1/channels/{club}/join"), &carol.token, json!({})).await;
    let (_, made) = app.post(&format!("/api/v1/channels/{club}/invites"), &carol.token, json!({})).await;
    let code = made["invite"]["code"].as_str().unwrap().to_owned();

    let invites = format!("/api/v1/channels/{club}/invites");
    assert_eq!(app.get(&invites, &carol.token).await.0, StatusCode::FORBIDDEN, "a member");
    let (status, listed) = app.get(&invites, &bob.token).await;
    assert_eq!((status, &listed["invites"][0]["code"]), (StatusCode::OK, &json!(code)));
    assert_eq!(listed["invites"][0]["created_by"], json!(carol.id));

    let revoke = |by: &TestUser| {
        let (path, token) = (format!("/api/v1/invites/{code}"), by.token.clone());
        async move { app.delete(&path, &token).await }
    };
    let dave = app.register("dave").await;
    assert_eq!(revoke(&dave).await.0, StatusCode::NOT_FOUND, "an outsider");
    assert_eq!(revoke(&bob).await.0, StatusCode::NO_CONTENT, "the owner");
    assert_eq!(app.call(Method::GET, &format!("/api/v1/invites/{code}"), None, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(revoke(&alice).await.0, StatusCode::NOT_FOUND, "gone");
    let (_, audit) = app.get("/api/v1/admin/audit", &alice.token).await;
    assert_eq!(
        (&audit["entries"][0]["action"], &audit["entries"][0]["channel_id"]),
        (&json!("invite.revoke"), &json!(club))
    );
}
