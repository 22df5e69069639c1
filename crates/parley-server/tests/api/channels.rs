//! Channels, membership, DMs and who may see what.

use parley_testkit::app::{spawn_app, TestApp, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn my_channel_ids(app: &TestApp, user: &TestUser) -> Vec<String> {
    let (status, body) = app.get("/api/v1/channels", &user.token).await;
    assert_eq!(status, StatusCode::OK);
    body["channels"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn create_list_get_join_leave() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    let (status, body) = app
        .post("/api/v1/channels", &alice.token, json!({"name": " general ", "kind": "public", "topic": "all"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let channel = &body["channel"];
    assert_eq!(
        (&channel["name"], &channel["kind"], &channel["topic"]),
        (&json!("general"), &json!("public"), &json!("all"))
    );
    assert_eq!((&channel["member_count"], &channel["last_seq"]), (&json!(1), &json!(1)));
    assert_eq!((&channel["role"], &channel["unread_count"]), (&json!("owner"), &json!(0)), "mine, as my list has it");
    let general = channel["id"].as_str().unwrap().to_owned();
    let secret = app.create_channel(&alice, "secret", "private").await;

    assert_eq!(my_channel_ids(&app, &alice).await.len(), 2);
    assert!(my_channel_ids(&app, &bob).await.is_empty());
    let (_, public) = app.get("/api/v1/channels/public", &bob.token).await;
    let public: Vec<&str> = public["channels"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(public, [general.as_str()]);

    // Bob sees the public channel but not the private one, even by id.
    let (status, seen) = app.get(&format!("/api/v1/channels/{general}"), &bob.token).await;
    assert_eq!((status, seen["channel"].get("role")), (StatusCode::OK, None), "not his: no role");
    let (status, body) = app.get(&format!("/api/v1/channels/{secret}"), &bob.token).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    assert_eq!(app.get(&format!("/api/v1/channels/{secret}/members"), &bob.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post(&format!("/api/v1/channels/{secret}/join"), &bob.token, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/api/v1/channels/not-a-uuid", &bob.token).await.0, StatusCode::NOT_FOUND);

    let (status, body) = app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    assert_eq!((status, &body["channel"]["member_count"]), (StatusCode::OK, &json!(2)));
    assert_eq!(body["channel"]["role"], "member");
    assert_eq!(my_channel_ids(&app, &bob).await, vec![general.clone()]);
    // Joining again changes nothing.
    let (status, body) = app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    assert_eq!((status, &body["channel"]["last_seq"]), (StatusCode::OK, &json!(2)));

    let (status, body) = app.get(&format!("/api/v1/channels/{general}/members"), &bob.token).await;
    assert_eq!(status, StatusCode::OK);
    let members: Vec<(&str, &str)> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"]["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(members, [("alice", "owner"), ("bob", "member")]);

    let (status, _) =
        app.call(Method::POST, &format!("/api/v1/channels/{general}/leave"), Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(my_channel_ids(&app, &bob).await.is_empty());
    let (_, events) = app.get(&format!("/api/v1/channels/{general}/events"), &alice.token).await;
    let types: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["member_joined", "member_joined", "member_left"]);
    assert_eq!(events["events"][2]["user_id"], json!(bob.id));
}

#[tokio::test]
async fn create_refuses_bad_input() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for body in [
        json!({"name": "", "kind": "public"}),
        json!({"name": "   ", "kind": "public"}),
        json!({"name": "x".repeat(81), "kind": "public"}),
        json!({"name": "ok", "kind": "direct"}),
        json!({"name": "ok", "kind": "secret"}),
        json!({"name": "ok"}),
        json!({"name": "ok", "kind": "public", "topic": "t".repeat(251)}),
    ] {
        let (status, answer) = app.post("/api/v1/channels", &alice.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
    }
    let (status, _) =
        app.post("/api/v1/channels", &alice.token, json!({"name": "x".repeat(80), "kind": "private"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// One channel per name, ignoring ASCII case, public and private together:
/// a taken name is 409, even when the channel that has it is private.
#[tokio::test]
async fn channel_names_are_unique_ignoring_case() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let general = app.create_channel(&alice, "General", "public").await;
    for (name, kind) in [("general", "public"), ("  GENERAL ", "private")] {
        let (status, body) = app.post("/api/v1/channels", &bob.token, json!({"name": name, "kind": kind})).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")), "{name}: {body}");
        let expected = format!("a channel named \"{}\" already exists", name.trim());
        assert_eq!(body["error"]["message"], expected);
    }
    app.create_channel(&alice, "secret", "private").await;
    let (status, body) = app.post("/api/v1/channels", &bob.token, json!({"name": "Secret", "kind": "public"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a private channel's name is taken too: {body}");

    assert!(my_channel_ids(&app, &bob).await.is_empty(), "nothing was made for bob");
    let (_, public) = app.get("/api/v1/channels/public", &bob.token).await;
    assert_eq!(public["channels"].as_array().unwrap().len(), 1);
    assert_eq!(public["channels"][0]["id"], json!(general));
    // Names that differ in more than ASCII case are different names.
    app.create_channel(&bob, "Été", "public").await;
    app.create_channel(&bob, "été", "public").await;
}

#[tokio::test]
async fn dms_are_one_channel_per_set_of_people() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let eve = app.register("eve").await;

    let (status, first) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": [bob.id]})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let dm = first["channel"]["id"].as_str().unwrap().to_owned();
    assert_eq!((&first["channel"]["kind"], &first["channel"]["name"]), (&json!("direct"), &json!("")));
    let people: Vec<&str> =
        first["channel"]["members"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(people.len(), 2);
    assert!(people.contains(&"alice") && people.contains(&"bob"));

    // The same set from the other side, with duplicates and myself listed: the same channel.
    let (_, again) = app.post("/api/v1/dms", &bob.token, json!({"user_ids": [alice.id, bob.id, alice.id]})).await;
    assert_eq!(again["channel"]["id"], json!(dm));
    let (_, group) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": [bob.id, carol.id]})).await;
    assert_ne!(group["channel"]["id"], json!(dm));
    assert_eq!(group["channel"]["member_count"], 3);
    assert!(my_channel_ids(&app, &bob).await.contains(&dm));

    // Outsiders see nothing of it.
    let sent = app.send(&alice, &dm, "m1", "psst").await;
    assert_eq!(sent["seq"], 3);
    assert_eq!(app.get(&format!("/api/v1/channels/{dm}"), &eve.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/channels/{dm}/events"), &eve.token).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&format!("/api/v1/channels/{dm}/messages"), &eve.token, json!({"body": "hi", "client_msg_id": "x"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A DM cannot be left or invited to.
    assert_eq!(app.post(&format!("/api/v1/channels/{dm}/leave"), &bob.token, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post(&format!("/api/v1/channels/{dm}/invites"), &bob.token, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn dm_refuses_bad_sets() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut others = Vec::new();
    for i in 0..9 {
        others.push(app.register(&format!("user{i}")).await.id);
    }
    let cases: [(Value, StatusCode); 5] = [
        (json!({"user_ids": []}), StatusCode::BAD_REQUEST),
        (json!({"user_ids": [alice.id]}), StatusCode::BAD_REQUEST),
        (json!({"user_ids": others}), StatusCode::BAD_REQUEST),
        (json!({"user_ids": ["nope"]}), StatusCode::BAD_REQUEST),
        (json!({"user_ids": ["01900000-0000-7000-8000-000000000000"]}), StatusCode::NOT_FOUND),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.post("/api/v1/dms", &alice.token, body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
    }
    let (status, body) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": &others[..8]})).await;
    assert_eq!((status, &body["channel"]["member_count"]), (StatusCode::OK, &json!(9)));
}

#[tokio::test]
async fn unread_counts_and_read_markers() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let general = app.create_channel(&alice, "general", "public").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    for i in 0..3 {
        app.send(&alice, &general, &format!("a{i}"), "from alice").await;
    }
    app.send(&bob, &general, "b0", "from bob").await;

    let unread =
        |body: Value| (body["channels"][0]["last_read_seq"].clone(), body["channels"][0]["unread_count"].clone());
    // Each marker starts at its member's join: what came before is history.
    assert_eq!(unread(app.get("/api/v1/channels", &bob.token).await.1), (json!(2), json!(3)));
    assert_eq!(unread(app.get("/api/v1/channels", &alice.token).await.1), (json!(1), json!(1)));

    let read_path = format!("/api/v1/channels/{general}/read");
    let read = |seq: i64| app.post(&read_path, &bob.token, json!({"seq": seq}));
    assert_eq!(read(4).await.0, StatusCode::NO_CONTENT);
    assert_eq!(unread(app.get("/api/v1/channels", &bob.token).await.1), (json!(4), json!(1)));
    // Never lowered; capped at the last seq.
    assert_eq!(read(1).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(1000).await.0, StatusCode::NO_CONTENT);
    assert_eq!(unread(app.get("/api/v1/channels", &bob.token).await.1), (json!(6), json!(0)));
    assert_eq!(read(-1).await.0, StatusCode::BAD_REQUEST);

    let carol = app.register("carol").await;
    let (status, _) = app.post(&format!("/api/v1/channels/{general}/read"), &carol.token, json!({"seq": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a visible channel carol has not joined");
}

#[tokio::test]
async fn the_public_list_pages_by_name_and_filters_by_q() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for name in ["ops", "Design", "ops-alerts", "random", "Ops 100%", "general"] {
        app.create_channel(&alice, name, "public").await;
    }
    app.create_channel(&alice, "ops-secret", "private").await;
    let list = |query: &str| {
        let (path, query) = (format!("/api/v1/channels/public{query}"), query.to_owned());
        let app = &app;
        let token = alice.token.clone();
        async move {
            let (status, body) = app.get(&path, &token).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            let names: Vec<String> =
                body["channels"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
            (names, body["has_more"].as_bool().unwrap())
        }
    };
    // Byte order: upper-case letters before lower-case ones.
    let all = ["Design", "Ops 100%", "general", "ops", "ops-alerts", "random"];
    assert_eq!(list("").await, (all.map(String::from).to_vec(), false), "without a query, all of them");
    assert_eq!(list("?limit=2").await, (vec!["Design".into(), "Ops 100%".into()], true));
    assert_eq!(list("?limit=2&after=Ops%20100%25").await, (vec!["general".into(), "ops".into()], true));
    assert_eq!(list("?limit=2&after=ops").await, (vec!["ops-alerts".into(), "random".into()], false));
    assert_eq!(list("?after=random").await, (vec![], false));
    let ops = vec!["Ops 100%".to_owned(), "ops".into(), "ops-alerts".into()];
    assert_eq!(list("?q=OPS").await, (ops, false), "any ASCII case; never the private one");
    assert_eq!(list("?q=ops&limit=1&after=ops").await, (vec!["ops-alerts".into()], false));
    assert_eq!(list("?q=%25").await, (vec!["Ops 100%".into()], false), "% is itself");
    assert_eq!(list("?q=%20%20").await.0.len(), 6, "a blank q is no filter");
    for bad in ["?limit=0", "?limit=x", &format!("?q={}", "x".repeat(81))] {
        let (status, body) = app.get(&format!("/api/v1/channels/public{bad}"), &alice.token).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")), "{bad}");
    }
}

#[tokio::test]
async fn my_preferences_in_a_channel() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let general = app.create_channel(&alice, "general", "public").await;
    let (_, dm) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": [bob.id]})).await;
    let dm = dm["channel"]["id"].as_str().unwrap().to_owned();
    let listed = |list: Value, id: &str| {
        list["channels"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["preferences"].clone()
    };
    let mine = app.get("/api/v1/channels", &alice.token).await.1;
    assert_eq!(listed(mine.clone(), &general), json!({"notify": "mentions", "muted": false}), "a channel: mentions");
    assert_eq!(listed(mine, &dm), json!({"notify": "all", "muted": false}), "a DM: everything");

    let put = |who: &TestUser, id: &str, body: Value| {
        let path = format!("/api/v1/channels/{id}/preferences");
        let token = who.token.clone();
        let app = &app;
        async move { app.call(Method::PUT, &path, Some(&token), Some(body)).await }
    };
    let (status, set) = put(&alice, &general, json!({"muted": true})).await;
    assert_eq!((status, &set["preferences"]), (StatusCode::OK, &json!({"notify": "mentions", "muted": true})));
    let (_, set) = put(&alice, &general, json!({"notify": "none"})).await;
    assert_eq!(set["preferences"], json!({"notify": "none", "muted": true}), "muted stays");
    assert_eq!(listed(app.get("/api/v1/channels", &alice.token).await.1, &general)["notify"], "none");

    for (body, want) in
        [(json!({}), "give notify, muted or both"), (json!({"notify": "loud"}), "notify must be all, mentions or none")]
    {
        let (status, error) = put(&alice, &general, body).await;
        assert_eq!((status, error["error"]["message"].as_str()), (StatusCode::BAD_REQUEST, Some(want)));
    }
    let (status, error) = put(&alice, &general, json!({"muted": "yes"})).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")), "{error}");
    let (status, _) = put(&bob, &general, json!({"muted": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a public channel bob is not in");
    let private = app.create_channel(&alice, "hidden", "private").await;
    let (status, _) = put(&bob, &private, json!({"muted": true})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a private channel is not there for outsiders");
}
