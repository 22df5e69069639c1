//! Changing messages over REST and with the WebSocket's `change` frame:
//! edits, deletes, reactions, pins, roles, threads and jumping to a
//! message; live delivery and resume of the change events.

use parley_testkit::app::{spawn_app, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn call(app: &TestApp, method: Method, path: &str, user: &TestUser, body: Option<Value>) -> (StatusCode, Value) {
    app.call(method, path, Some(&user.token), body).await
}

/// The message `seq` of `channel` as `user` reads it in a page around it.
async fn message(app: &TestApp, user: &TestUser, channel: &str, seq: i64) -> Value {
    let (status, page) = app.get(&format!("/api/v1/channels/{channel}/events?around={seq}&limit=3"), &user.token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().iter().find(|e| e["seq"] == seq).cloned().expect("the message in its page")
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn edit_and_delete_follow_their_rules() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let general = app.create_channel(&alice, "general", "public").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    let seq = app.send(&alice, &general, "m1", "helo").await["seq"].as_i64().unwrap();
    let path = format!("/api/v1/channels/{general}/messages/{seq}");

    let bobs = call(&app, Method::PATCH, &path, &bob, Some(json!({"body": "mine", "client_msg_id": "e0"}))).await;
    assert_eq!(code(&bobs), (StatusCode::FORBIDDEN, "forbidden"), "only the author edits");
    let (status, edited) =
        call(&app, Method::PATCH, &path, &alice, Some(json!({"body": " hello ", "client_msg_id": "e1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{edited}");
    assert_eq!((&edited["event"]["type"], &edited["event"]["target_seq"]), (&json!("message_edited"), &json!(seq)));
    assert_eq!(edited["event"]["body"], "hello", "trimmed as a new message is");
    let shown = message(&app, &bob, &general, seq).await;
    assert_eq!((&shown["body"], shown["edited_at"].is_string()), (&json!("hello"), true), "{shown}");
    let long = json!({"body": "x".repeat(4001), "client_msg_id": "e2"});
    assert_eq!(code(&call(&app, Method::PATCH, &path, &alice, Some(long)).await).0, StatusCode::PAYLOAD_TOO_LARGE);
    let retried = call(&app, Method::PATCH, &path, &alice, Some(json!({"body": "hello", "client_msg_id": "e1"}))).await;
    assert_eq!((retried.0, &retried.1["event"]), (StatusCode::OK, &edited["event"]), "a retry: the first event");

    let no_key = call(&app, Method::DELETE, &path, &alice, None).await;
    assert_eq!(code(&no_key), (StatusCode::BAD_REQUEST, "bad_request"), "a change needs its client_msg_id");
    let by_bob = call(&app, Method::DELETE, &format!("{path}?client_msg_id=d0"), &bob, None).await;
    assert_eq!(code(&by_bob).0, StatusCode::FORBIDDEN);
    let (status, deleted) = call(&app, Method::DELETE, &format!("{path}?client_msg_id=d1"), &alice, None).await;
    assert_eq!((status, &deleted["event"]["type"]), (StatusCode::CREATED, &json!("message_deleted")));
    let tombstone = message(&app, &bob, &general, seq).await;
    assert_eq!((tombstone.get("body"), &tombstone["deleted"]), (None, &json!(true)), "{tombstone}");
    let (_, log) = app.get(&format!("/api/v1/channels/{general}/events"), &bob.token).await;
    assert!(!log.to_string().contains("hello"), "the text is gone from every read: {log}");

    let again = call(&app, Method::PATCH, &path, &alice, Some(json!({"body": "back", "client_msg_id": "e3"}))).await;
    assert_eq!(code(&again), (StatusCode::CONFLICT, "conflict"), "a deleted message stays deleted");
    let reply = json!({"body": "re", "client_msg_id": "r1", "reply_to_seq": seq});
    let replied = app.post(&format!("/api/v1/channels/{general}/messages"), &bob.token, reply).await;
    assert_eq!(code(&replied).0, StatusCode::CONFLICT, "no replies to a deleted message");
    for bad in ["0", "x", "999"] {
        let answer = call(
            &app,
            Method::DELETE,
            &format!("/api/v1/channels/{general}/messages/{bad}?client_msg_id=z"),
            &alice,
            None,
        )
        .await;
        assert_eq!(code(&answer), (StatusCode::NOT_FOUND, "not_found"), "seq {bad}");
    }

    let secret = app.create_channel(&alice, "secret", "private").await;
    let hidden = app.send(&alice, &secret, "s1", "shh").await["seq"].as_i64().unwrap();
    let outsider =
        call(&app, Method::DELETE, &format!("/api/v1/channels/{secret}/messages/{hidden}?client_msg_id=o"), &bob, None)
            .await;
    assert_eq!(code(&outsider).0, StatusCode::NOT_FOUND, "a private channel is not there for outsiders");
    let bobs = app.send(&bob, &general, "b1", "bye").await["seq"].as_i64().unwrap();
    app.post(&format!("/api/v1/channels/{general}/leave"), &bob.token, json!({})).await;
    let edit = Some(json!({"body": "x", "client_msg_id": "l"}));
    let left = call(&app, Method::PATCH, &format!("/api/v1/channels/{general}/messages/{bobs}"), &bob, edit).await;
    assert_eq!(code(&left).0, StatusCode::FORBIDDEN, "a channel I left is not mine to change");
}

#[tokio::test]
async fn reactions_pins_roles_and_threads() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let general = app.create_channel(&alice, "general", "public").await;
    for user in [&bob, &carol] {
        app.post(&format!("/api/v1/channels/{general}/join"), &user.token, json!({})).await;
    }
    let seq = app.send(&carol, &general, "m1", "react to me").await["seq"].as_i64().unwrap();
    let reactions = format!("/api/v1/channels/{general}/messages/{seq}/reactions");

    let added = call(&app, Method::PUT, &format!("{reactions}/%F0%9F%91%8D?client_msg_id=a1"), &alice, None).await;
    assert_eq!((added.0, &added.1["event"]["emoji"]), (StatusCode::CREATED, &json!("👍")));
    let twice = call(&app, Method::PUT, &format!("{reactions}/:+1:?client_msg_id=a2"), &alice, None).await;
    assert_eq!((twice.0, &twice.1["event"]), (StatusCode::OK, &Value::Null), "a shortcode names the same emoji");
    call(&app, Method::PUT, &format!("{reactions}/:thumbsup:?client_msg_id=b1"), &bob, None).await;
    let bad = call(&app, Method::PUT, &format!("{reactions}/nope?client_msg_id=b2"), &bob, None).await;
    assert_eq!(code(&bad), (StatusCode::BAD_REQUEST, "bad_request"));
    let shown = message(&app, &bob, &general, seq).await;
    let (a, b) = (alice.id.as_str(), bob.id.as_str());
    assert_eq!(shown["reactions"], json!([{"emoji": "👍", "count": 2, "me": true, "users": [a, b]}]), "who, in order");
    let gone = call(&app, Method::DELETE, &format!("{reactions}/%F0%9F%91%8D?client_msg_id=b3"), &bob, None).await;
    assert_eq!((gone.0, &gone.1["event"]["type"]), (StatusCode::CREATED, &json!("reaction_removed")));
    assert_eq!(
        message(&app, &bob, &general, seq).await["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false, "users": [a]}])
    );

    let pin = format!("/api/v1/channels/{general}/pins/{seq}");
    assert_eq!(call(&app, Method::PUT, &format!("{pin}?client_msg_id=p1"), &bob, None).await.0, StatusCode::CREATED);
    let (_, pins) = app.get(&format!("/api/v1/channels/{general}/pins"), &carol.token).await;
    assert_eq!((pins["pins"][0]["seq"].as_i64(), &pins["pins"][0]["pinned"]), (Some(seq), &json!(true)));
    let unpin = call(&app, Method::DELETE, &format!("{pin}?client_msg_id=u1"), &carol, None).await;
    assert_eq!(code(&unpin).0, StatusCode::FORBIDDEN, "bob's pin is bob's, or an admin's, to take down");

    let role = |user: &TestUser, role: &str, key: &str| {
        (format!("/api/v1/channels/{general}/members/{}", user.id), json!({"role": role, "client_msg_id": key}))
    };
    let (path, body) = role(&carol, "admin", "r1");
    assert_eq!(
        code(&call(&app, Method::PUT, &path, &bob, Some(body)).await).0,
        StatusCode::FORBIDDEN,
        "only the owner"
    );
    let (path, body) = role(&carol, "owner", "r2");
    assert_eq!(code(&call(&app, Method::PUT, &path, &alice, Some(body)).await).0, StatusCode::BAD_REQUEST);
    let (path, body) = role(&carol, "admin", "r3");
    let (status, promoted) = call(&app, Method::PUT, &path, &alice, Some(body)).await;
    assert_eq!(
        (status, &promoted["event"]["type"], &promoted["event"]["role"]),
        (StatusCode::CREATED, &json!("member_role_changed"), &json!("admin"))
    );
    let (_, members) = app.get(&format!("/api/v1/channels/{general}/members"), &alice.token).await;
    let carols = members["members"].as_array().unwrap().iter().find(|m| m["user"]["id"] == carol.id.as_str()).cloned();
    assert_eq!(carols.map(|m| m["role"].clone()), Some(json!("admin")));
    let my_role =
        |list: Value| list["channels"].as_array().unwrap().iter().find(|c| c["id"] == general).unwrap()["role"].clone();
    assert_eq!(
        my_role(app.get("/api/v1/channels", &carol.token).await.1),
        json!("admin"),
        "my role in my channel list"
    );
    assert_eq!(my_role(app.get("/api/v1/channels", &alice.token).await.1), json!("owner"));
    assert_eq!(
        call(&app, Method::DELETE, &format!("{pin}?client_msg_id=u2"), &carol, None).await.0,
        StatusCode::CREATED,
        "an admin unpins"
    );
    let bobs = app.send(&bob, &general, "b-m", "bob's").await["seq"].as_i64().unwrap();
    let moderated = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/channels/{general}/messages/{bobs}?client_msg_id=x"),
        &carol,
        None,
    )
    .await;
    assert_eq!(moderated.0, StatusCode::CREATED, "an admin deletes anyone's message");

    let post = |user: &TestUser, key: &str, to: i64| {
        let body = json!({"body": format!("reply {key}"), "client_msg_id": key, "reply_to_seq": to});
        (format!("/api/v1/channels/{general}/messages"), user.token.clone(), body)
    };
    let (path, token, body) = post(&alice, "t1", seq);
    let first = app.post(&path, &token, body).await.1["event"]["seq"].as_i64().unwrap();
    let (path, token, body) = post(&bob, "t2", first);
    let (_, second) = app.post(&path, &token, body).await;
    assert_eq!(second["event"]["reply_to_seq"], seq, "a reply to a reply joins the root's thread");
    let (status, thread) = app.get(&format!("/api/v1/channels/{general}/threads/{seq}?limit=1"), &carol.token).await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(
        (&thread["root"]["reply_count"], thread["replies"].as_array().unwrap().len(), &thread["has_more"]),
        (&json!(2), 1, &json!(true))
    );
    let (_, rest) = app.get(&format!("/api/v1/channels/{general}/threads/{seq}?after={first}"), &carol.token).await;
    assert_eq!(rest["replies"][0]["body"], "reply t2");
    let not_a_message = app.get(&format!("/api/v1/channels/{general}/threads/1"), &carol.token).await;
    assert_eq!(code(&not_a_message).0, StatusCode::NOT_FOUND);
    let both = app.get(&format!("/api/v1/channels/{general}/events?around=3&after=1"), &carol.token).await;
    assert_eq!(code(&both).0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn changes_are_delivered_live_and_on_resume() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let general = app.create_channel(&alice, "general", "public").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    let (mut live, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let seq = app.send(&alice, &general, "m1", "first").await["seq"].as_i64().unwrap();
    let path = format!("/api/v1/channels/{general}/messages/{seq}");
    call(&app, Method::PATCH, &path, &alice, Some(json!({"body": "first!", "client_msg_id": "e1"}))).await;
    let seen = live.events_through(&general, seq + 1).await;
    let types: Vec<&str> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.last(), Some(&"message_edited"), "{seen:?}");
    assert_eq!(seen.last().unwrap()["body"], "first!");

    // Bob is away while his copy of the message is edited, reacted to and deleted.
    drop(live);
    let head = seq + 1;
    call(&app, Method::PATCH, &path, &alice, Some(json!({"body": "first!!", "client_msg_id": "e2"}))).await;
    call(&app, Method::PUT, &format!("{path}/reactions/:tada:?client_msg_id=r1"), &alice, None).await;
    call(&app, Method::DELETE, &format!("{path}?client_msg_id=d1"), &alice, None).await;
    let (mut back, _) = WsClient::connect(app.addr, &bob.token, json!({ general.clone(): head })).await;
    let missed = back.events_through(&general, head + 3).await;
    let kinds: Vec<(i64, &str, i64)> = missed
        .iter()
        .map(|e| (e["seq"].as_i64().unwrap(), e["type"].as_str().unwrap(), e["target_seq"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(
        kinds,
        [(head + 1, "message_edited", seq), (head + 2, "reaction_added", seq), (head + 3, "message_deleted", seq)],
        "exactly the changes, in order"
    );
    assert!(missed[0].get("body").is_none(), "the edit of a message deleted since carries no text: {:?}", missed[0]);
}

#[tokio::test]
async fn a_change_over_the_websocket_is_acked_like_a_send() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let general = app.create_channel(&alice, "general", "public").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    let seq = app.send(&alice, &general, "m1", "first").await["seq"].as_i64().unwrap();
    let (mut ws, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let change = |reference: i64, id: &str, action: &str, extra: Value| {
        let mut frame = json!({"type": "change", "ref": reference, "channel_id": general, "client_msg_id": id,
                               "seq": seq, "action": action});
        frame.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        frame
    };
    let answer =
        |frame: Value| (frame["type"].clone(), frame["status"].clone(), frame["seq"].clone(), frame["code"].clone());

    ws.send(change(1, "e1", "edit", json!({"body": "first!"}))).await;
    let edited = ws.next_of("ack").await;
    assert_eq!(answer(edited.clone()), (json!("ack"), json!("stored"), json!(seq + 1), Value::Null), "{edited}");
    ws.send(change(2, "e1", "edit", json!({"body": "first!"}))).await;
    assert_eq!(ws.next_of("ack").await["seq"], json!(seq + 1), "a retry is acked with the event first stored");
    ws.send(change(3, "r1", "react", json!({"emoji": ":tada:"}))).await;
    assert_eq!(ws.next_of("ack").await["seq"], json!(seq + 2));
    ws.send(change(4, "r2", "react", json!({"emoji": "🎉"}))).await;
    let again = ws.next_of("ack").await;
    assert_eq!((again["status"].clone(), again.get("seq")), (json!("unchanged"), None), "{again}");

    for (reference, frame, code) in [
        (5, change(5, "x1", "shout", json!({})), "bad_request"),
        (6, change(6, "x2", "react", json!({})), "bad_request"),
        (7, change(7, "x3", "pin", json!({"seq": 999})), "not_found"),
        (8, change(8, "e1", "pin", json!({})), "conflict"),
    ] {
        ws.send(frame).await;
        let error = ws.next_of("error").await;
        assert_eq!((error["ref"].clone(), error["code"].clone()), (json!(reference), json!(code)), "{error}");
    }

    // Bob may react, not edit alice's message; what he sees is what the store has.
    let (mut bobs, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    bobs.send(json!({"type": "change", "ref": "b", "channel_id": general, "client_msg_id": "b1", "seq": seq,
                     "action": "edit", "body": "mine now"}))
        .await;
    assert_eq!(bobs.next_of("error").await["code"], "forbidden");
    let shown = message(&app, &bob, &general, seq).await;
    assert_eq!((shown["body"].clone(), shown["reactions"][0]["count"].clone()), (json!("first!"), json!(1)));
}

/// A mention is decided where the message is stored: the event names the
/// members mentioned, each one's `mention_count` rises beside their unread
/// count, `GET /mentions` lists it with its channel, an edit moves it, and a
/// read marker past it clears the count.
#[tokio::test]
async fn mentions_are_counted_listed_and_cleared() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let general = app.create_channel(&alice, "general", "public").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    let counts = |user: &TestUser| {
        let (app, token, general) = (&app, user.token.clone(), general.clone());
        async move {
            let (_, mine) = app.get("/api/v1/channels", &token).await;
            let listed = mine["channels"].as_array().unwrap().iter().find(|c| c["id"] == general.as_str()).cloned();
            let listed = listed.expect("general is listed");
            (listed["unread_count"].as_i64().unwrap(), listed["mention_count"].as_i64().unwrap())
        }
    };
    let mentions = |user: &TestUser, query: &str| {
        let (app, path, token) = (&app, format!("/api/v1/mentions{query}"), user.token.clone());
        async move { app.get(&path, &token).await }
    };

    let sent = app.send(&alice, &general, "m1", "Hi @Bob, ask @carol (bob@example.com)").await;
    assert_eq!(sent["mentions"], json!([bob.id]), "carol is not a member: {sent}");
    assert!(sent.get("mentions_channel").is_none() && sent.get("mentions_here").is_none(), "{sent}");
    assert_eq!(counts(&bob).await, (1, 1));
    assert_eq!(counts(&alice).await, (0, 0));
    let (status, listed) = mentions(&bob, "").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["has_more"], false);
    let first = &listed["mentions"][0];
    assert_eq!((&first["channel"]["id"], &first["channel"]["name"]), (&json!(general), &json!("general")));
    assert_eq!((&first["event"]["seq"], &first["event"]["body"]), (&sent["seq"], &sent["body"]));
    assert_eq!(mentions(&carol, "").await.1["mentions"], json!([]));

    let seq = sent["seq"].as_i64().unwrap();
    let path = format!("/api/v1/channels/{general}/messages/{seq}");
    let edited = call(&app, Method::PATCH, &path, &alice, Some(json!({"body": "Hi all", "client_msg_id": "e1"}))).await;
    assert_eq!(edited.0, StatusCode::CREATED, "{}", edited.1);
    assert!(edited.1["event"].get("mentions").is_none(), "the edit mentions nobody: {}", edited.1);
    assert_eq!(counts(&bob).await, (1, 0), "the edit took the mention away");
    assert_eq!(mentions(&bob, "").await.1["mentions"], json!([]));

    let again = app.send(&alice, &general, "m2", "@bob: now?").await;
    let older = app.send(&alice, &general, "m3", "and @bob.").await;
    assert_eq!(counts(&bob).await, (3, 2));
    let (_, page) = mentions(&bob, "?limit=1").await;
    assert_eq!(
        (page["mentions"][0]["event"]["seq"].clone(), page["has_more"].clone()),
        (older["seq"].clone(), json!(true))
    );
    let before = page["mentions"][0]["event"]["id"].as_str().unwrap().to_owned();
    let (_, page) = mentions(&bob, &format!("?before={before}")).await;
    assert_eq!(page["mentions"][0]["event"]["seq"], again["seq"], "the page before the newest");
    let read = app.post(&format!("/api/v1/channels/{general}/read"), &bob.token, json!({"seq": again["seq"]})).await;
    assert_eq!(read.0, StatusCode::NO_CONTENT);
    assert_eq!(counts(&bob).await, (1, 1), "read past one of the two");

    for (query, want) in [("?before=x", "malformed event id"), ("?limit=0", "limit must be at least 1")] {
        let (status, error) = mentions(&bob, query).await;
        assert_eq!((status, error["error"]["message"].as_str()), (StatusCode::BAD_REQUEST, Some(want)), "{query}");
    }
    let (status, _) = app.call(Method::GET, "/api/v1/mentions", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// `GET /search`: my channels only, highlights as character ranges, and a
/// query in any syntax answered as words or a 400 that says what is wrong,
/// never a 500.
#[tokio::test]
async fn search_finds_in_my_channels_and_answers_any_query() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let general = app.create_channel(&alice, "general", "public").await;
    let secret = app.create_channel(&alice, "secret", "private").await;
    app.post(&format!("/api/v1/channels/{general}/join"), &bob.token, json!({})).await;
    app.send(&alice, &general, "m1", "Déploiement vendredi: see https://example.com").await;
    app.send(&alice, &secret, "m2", "deploiement secret").await;
    let search = |who: &TestUser, q: &str| {
        let (app, token) = (&app, who.token.clone());
        let path = format!("/api/v1/search?q={}", percent(q));
        async move { app.get(&path, &token).await }
    };

    let (status, page) = search(&bob, "deploiement").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "not the private channel: {page}");
    assert_eq!(results[0]["channel"]["name"], "general");
    assert_eq!(results[0]["event"]["body"], "Déploiement vendredi: see https://example.com");
    assert_eq!(results[0]["highlights"], json!([[0, 11]]));
    assert_eq!(page["has_more"], false);
    assert_eq!(search(&bob, "in:#secret deploiement").await.1["results"], json!([]), "nor by naming it");
    assert_eq!(search(&alice, "in:#secret deploiement").await.1["results"].as_array().unwrap().len(), 1);
    assert_eq!(search(&bob, "has:link from:@alice").await.1["results"].as_array().unwrap().len(), 1);

    for q in ["deploy* OR NOT x", "'; DROP TABLE events; --", "NEAR(a b) ^c -d", "a:b c::d", &"é".repeat(1000)] {
        let (status, answer) = search(&bob, q).await;
        assert_eq!(status, StatusCode::OK, "{q}: {answer}");
    }
    for (q, want) in [
        ("\"open", "a quoted phrase is not closed: add a \""),
        ("%_\\", "q has no word to search for: give words, a \"phrase\", from:@someone, in:#channel or has:link"),
        ("after:yesterday", "after: needs a date as YYYY-MM-DD, not \"yesterday\""),
        (&"a".repeat(1001), "q must be at most 1000 characters"),
    ] {
        let (status, answer) = search(&bob, q).await;
        assert_eq!((status, answer["error"]["message"].as_str()), (StatusCode::BAD_REQUEST, Some(want)), "{q}");
    }
    let (status, answer) = app.get("/api/v1/search", &bob.token).await;
    assert_eq!(
        (status, answer["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("q is required: what to search for"))
    );
}

/// `text` for a query string.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
