//! Moderating channels through the API: rename, topic, archive, remove,
//! ban, delete; who may; what members see live; the audit log.

use parley_testkit::app::{spawn_app, TestApp, TestUser};
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn patch(app: &TestApp, who: &TestUser, channel: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, &format!("/api/v1/channels/{channel}"), Some(&who.token), Some(body)).await
}

async fn put(app: &TestApp, who: &TestUser, path: &str) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(&who.token), None).await
}

#[tokio::test]
async fn owners_rename_set_topics_and_archive_and_members_see_it_live() {
    let server = spawn_app().await;
    let app = &server;
    let admin = app.register("root").await;
    let owner = app.register("olive").await;
    let bob = app.register("bob").await;
    let room = app.create_channel(&owner, "plans", "public").await;
    app.post(&format!("/api/v1/channels/{room}/join"), &bob.token, json!({})).await;
    let (mut live, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    let (status, body) = patch(app, &owner, &room, json!({"client_msg_id": "r1", "name": "roadmap"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((&body["event"]["type"], &body["event"]["name"]), (&json!("channel_renamed"), &json!("roadmap")));
    let (status, _) = patch(app, &owner, &room, json!({"client_msg_id": "r1", "name": "roadmap"})).await;
    assert_eq!(status, StatusCode::OK, "a retry");
    let seen = live.next_of("event").await;
    assert_eq!((&seen["event"]["type"], &seen["event"]["name"]), (&json!("channel_renamed"), &json!("roadmap")));
    let (_, one) = app.get(&format!("/api/v1/channels/{room}"), &bob.token).await;
    assert_eq!(one["channel"]["name"], "roadmap");

    let refused = patch(app, &bob, &room, json!({"client_msg_id": "b1", "name": "mine"})).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "a plain member: {}", refused.1);
    for bad in [
        json!({"client_msg_id": "x", "name": "a", "topic": "b"}),
        json!({"client_msg_id": "x"}),
        json!({"client_msg_id": "x", "name": " "}),
        json!({"client_msg_id": "x", "colour": "red"}),
        json!({"name": "no key"}),
    ] {
        assert_eq!(patch(app, &owner, &room, bad.clone()).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    let other = app.create_channel(&owner, "taken", "private").await;
    let (status, _) = patch(app, &owner, &room, json!({"client_msg_id": "r2", "name": "TAKEN"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = patch(app, &owner, &room, json!({"client_msg_id": "t1", "topic": "Q3 only"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(live.next_of("event").await["event"]["topic"], "Q3 only");

    let (status, _) = patch(app, &owner, &room, json!({"client_msg_id": "a1", "archived": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(live.next_of("event").await["event"]["type"], "channel_archived");
    let (_, listed) = app.get("/api/v1/channels", &bob.token).await;
    let mine = listed["channels"].as_array().unwrap().iter().find(|c| c["id"] == room.as_str()).cloned().unwrap();
    assert_eq!(mine["archived"], true, "still listed, archived");
    let sent = app
        .post(&format!("/api/v1/channels/{room}/messages"), &bob.token, json!({"body": "hi", "client_msg_id": "m1"}))
        .await;
    assert_eq!(sent.0, StatusCode::FORBIDDEN, "read-only: {}", sent.1);
    assert!(sent.1["error"]["message"].as_str().unwrap().contains("archived"));
    let carol = app.register("carol").await;
    let joined = app.post(&format!("/api/v1/channels/{room}/join"), &carol.token, json!({})).await;
    assert_eq!(joined.0, StatusCode::FORBIDDEN);
    let (_, directory) = app.get("/api/v1/channels/public", &carol.token).await;
    assert!(directory["channels"].as_array().unwrap().iter().all(|c| c["id"] != room.as_str()), "not browsed");
    let (_, found) = app.get("/api/v1/search?q=roadmap", &bob.token).await;
    assert!(found["results"].is_array(), "search still answers: {found}");

    // A server admin unarchives a channel they are not in.
    let (status, _) = patch(app, &admin, &room, json!({"client_msg_id": "a2", "archived": false})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.send(&bob, &room, "m2", "back again").await;

    let (_, audit) = app.get("/api/v1/admin/audit", &admin.token).await;
    let actions: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("channel.unarchive", admin.id.as_str()),
            ("channel.archive", owner.id.as_str()),
            ("channel.rename", owner.id.as_str())
        ],
        "the topic is not a moderation action; the retry and the refusals are not there"
    );
    assert_eq!(audit["entries"][2]["detail"], json!({"name": "roadmap"}));
    let _ = other;
}

#[tokio::test]
async fn a_removed_or_banned_member_is_told_at_once_and_a_ban_keeps_them_out() {
    let server = spawn_app().await;
    let app = &server;
    let _admin = app.register("root").await;
    let owner = app.register("olive").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let room = app.create_channel(&owner, "club", "private").await;
    let (_, invite) = app.post(&format!("/api/v1/channels/{room}/invites"), &owner.token, json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap().to_owned();
    for who in [&bob, &carol] {
        app.post(&format!("/api/v1/invites/{code}/accept"), &who.token, json!({})).await;
    }
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let (mut o, _) = WsClient::connect(app.addr, &owner.token, json!({})).await;

    let remove = format!("/api/v1/channels/{room}/members/{}?client_msg_id=x1", bob.id);
    assert_eq!(app.delete(&remove, &carol.token).await.0, StatusCode::FORBIDDEN, "a plain member");
    let (status, body) = app.delete(&remove, &owner.token).await;
    assert_eq!((status, &body["event"]["type"]), (StatusCode::CREATED, &json!("member_removed")), "{body}");
    assert_eq!(body["event"]["sender_id"], json!(owner.id), "who did it");
    let told = b.next_of("event").await;
    assert_eq!((&told["event"]["type"], &told["event"]["user_id"]), (&json!("member_removed"), &json!(bob.id)));
    assert_eq!(b.next_of("channel_removed").await["channel_id"], json!(room));
    assert_eq!(o.next_of("event").await["event"]["type"], "member_removed", "the others see it too");
    assert_eq!(app.get(&format!("/api/v1/channels/{room}"), &bob.token).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "removed, not banned: the link still works");
    assert_eq!(b.next_of("channel_added").await["channel"]["id"], json!(room));

    let ban = format!("/api/v1/channels/{room}/bans/{}?client_msg_id=b1", bob.id);
    let (status, body) = put(app, &owner, &ban).await;
    assert_eq!((status, &body["event"]["type"]), (StatusCode::CREATED, &json!("member_banned")), "{body}");
    assert_eq!(b.next_of("channel_removed").await["channel_id"], json!(room));
    let (status, body) = app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "banned: {body}");
    let (status, bans) = app.get(&format!("/api/v1/channels/{room}/bans"), &owner.token).await;
    assert_eq!((status, &bans["bans"][0]["user"]["id"]), (StatusCode::OK, &json!(bob.id)));
    assert_eq!(app.get(&format!("/api/v1/channels/{room}/bans"), &carol.token).await.0, StatusCode::FORBIDDEN);

    let unban = format!("/api/v1/channels/{room}/bans/{}?client_msg_id=u1", bob.id);
    assert_eq!(app.delete(&unban, &owner.token).await.0, StatusCode::CREATED);
    let (status, _) = app.post(&format!("/api/v1/invites/{code}/accept"), &bob.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "unbanned");
    let self_remove = format!("/api/v1/channels/{room}/members/{}?client_msg_id=x2", owner.id);
    assert_eq!(app.delete(&self_remove, &owner.token).await.0, StatusCode::BAD_REQUEST, "leave instead");
}

#[tokio::test]
async fn only_a_server_admin_deletes_a_channel_naming_it_and_every_member_is_told() {
    let server = spawn_app().await;
    let app = &server;
    let admin = app.register("root").await;
    let owner = app.register("olive").await;
    let bob = app.register("bob").await;
    let room = app.create_channel(&owner, "doomed", "public").await;
    app.post(&format!("/api/v1/channels/{room}/join"), &bob.token, json!({})).await;
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    let delete = |confirm: &str, key: &str| format!("/api/v1/channels/{room}?client_msg_id={key}&confirm={confirm}");
    assert_eq!(app.delete(&delete("doomed", "d0"), &owner.token).await.0, StatusCode::FORBIDDEN, "the owner");
    assert_eq!(app.delete(&delete("Doomed", "d1"), &admin.token).await.0, StatusCode::BAD_REQUEST, "not its name");
    assert_eq!(
        app.delete(&format!("/api/v1/channels/{room}?client_msg_id=d1"), &admin.token).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = app.delete(&delete("doomed", "d1"), &admin.token).await;
    assert_eq!((status, &body["event"]["type"]), (StatusCode::CREATED, &json!("channel_deleted")), "{body}");
    assert_eq!(b.next_of("event").await["event"]["type"], "channel_deleted");
    assert_eq!(b.next_of("channel_removed").await["channel_id"], json!(room));
    assert_eq!(app.get(&format!("/api/v1/channels/{room}"), &owner.token).await.0, StatusCode::NOT_FOUND);
    let (_, mine) = app.get("/api/v1/channels", &owner.token).await;
    assert!(mine["channels"].as_array().unwrap().is_empty());
    assert_eq!(app.delete(&delete("doomed", "d2"), &admin.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.create_channel(&bob, "doomed", "public").await.len(), room.len(), "its name is free");
    let (_, audit) = app.get("/api/v1/admin/audit", &admin.token).await;
    assert_eq!(
        (&audit["entries"][0]["action"], &audit["entries"][0]["channel_id"]),
        (&json!("channel.delete"), &json!(room))
    );
}

#[tokio::test]
async fn whom_i_block_cannot_write_to_me_in_a_dm() {
    let server = spawn_app().await;
    let app = &server;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (_, dm) = app.post("/api/v1/dms", &alice.token, json!({"user_ids": [bob.id]})).await;
    let dm = dm["channel"]["id"].as_str().unwrap().to_owned();
    let block = format!("/api/v1/me/blocks/{}", bob.id);
    assert_eq!(put(app, &alice, &block).await.0, StatusCode::NO_CONTENT);
    assert_eq!(put(app, &alice, &block).await.0, StatusCode::NO_CONTENT, "twice is harmless");
    assert_eq!(put(app, &alice, &format!("/api/v1/me/blocks/{}", alice.id)).await.0, StatusCode::BAD_REQUEST);
    let nobody = "/api/v1/me/blocks/01900000-0000-7000-8000-000000000000";
    assert_eq!(put(app, &alice, nobody).await.0, StatusCode::NOT_FOUND);
    let (_, blocked) = app.get("/api/v1/me/blocks", &alice.token).await;
    assert_eq!(blocked["users"][0]["id"], json!(bob.id));

    let message = |key: &str| json!({"body": "hello", "client_msg_id": key});
    let (status, body) = app.post(&format!("/api/v1/channels/{dm}/messages"), &bob.token, message("b1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().contains("block"), "it does not say who blocks whom");
    app.send(&alice, &dm, "a1", "I still can").await;
    assert_eq!(app.delete(&block, &alice.token).await.0, StatusCode::NO_CONTENT);
    app.send(&bob, &dm, "b2", "thanks").await;
}

#[tokio::test]
async fn deleting_someone_elses_message_and_naming_admins_are_in_the_audit_log() {
    let server = spawn_app().await;
    let app = &server;
    let admin = app.register("admin").await;
    let owner = app.register("owner").await;
    let helper = app.register("helper").await;
    let bob = app.register("bob").await;
    let room = app.create_channel(&owner, "room", "public").await;
    for who in [&helper, &bob] {
        app.post(&format!("/api/v1/channels/{room}/join"), &who.token, json!({})).await;
    }
    let role = json!({"role": "admin", "client_msg_id": "r1"});
    let path = format!("/api/v1/channels/{room}/members/{}", helper.id);
    assert_eq!(app.call(Method::PUT, &path, Some(&owner.token), Some(role)).await.0, StatusCode::CREATED);
    let rude = app.send(&bob, &room, "m1", "something rude").await["seq"].as_i64().unwrap();
    let mine = app.send(&bob, &room, "m2", "my own typo").await["seq"].as_i64().unwrap();
    let worse = app.send(&bob, &room, "m3", "something worse").await["seq"].as_i64().unwrap();
    let delete = |seq: i64, key: &str| format!("/api/v1/channels/{room}/messages/{seq}?client_msg_id={key}");
    assert_eq!(app.delete(&delete(mine, "d1"), &bob.token).await.0, StatusCode::CREATED, "their own: not audited");
    assert_eq!(app.delete(&delete(rude, "d2"), &owner.token).await.0, StatusCode::CREATED);
    assert_eq!(app.delete(&delete(rude, "d3"), &owner.token).await.0, StatusCode::OK, "gone already: nothing new");
    // The channel's admin, over the socket.
    let (mut ws, _) = WsClient::connect(app.addr, &helper.token, json!({})).await;
    ws.send(json!({"type": "change", "ref": 1, "channel_id": room, "client_msg_id": "w1", "seq": worse,
                   "action": "delete"}))
        .await;
    assert_eq!(ws.next_of("ack").await["status"], "stored");

    let (_, audit) = app.get("/api/v1/admin/audit", &admin.token).await;
    let entries: Vec<(&str, &str, &str, &Value)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |field: &str| e[field].as_str().unwrap_or_default();
            (text("action"), text("actor_id"), text("user_id"), &e["detail"])
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("message.delete", helper.id.as_str(), bob.id.as_str(), &json!({"seq": worse})),
            ("message.delete", owner.id.as_str(), bob.id.as_str(), &json!({"seq": rude})),
            ("member.role", owner.id.as_str(), helper.id.as_str(), &json!({"role": "admin"})),
        ]
    );
}

#[tokio::test]
async fn admins_list_every_channel_private_and_archived_ones_too_and_nobody_else_does() {
    let server = spawn_app().await;
    let app = &server;
    let admin = app.register("admin").await;
    let owner = app.register("owner").await;
    let open = app.create_channel(&owner, "open", "public").await;
    let hidden = app.create_channel(&owner, "hidden", "private").await;
    let old = app.create_channel(&owner, "old", "public").await;
    assert_eq!(patch(app, &owner, &old, json!({"client_msg_id": "a1", "archived": true})).await.0, StatusCode::CREATED);
    app.post("/api/v1/dms", &owner.token, json!({"user_ids": [admin.id]})).await;

    let (status, listed) = app.get("/api/v1/admin/channels", &admin.token).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let names: Vec<(&str, bool)> = listed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["archived"] == true))
        .collect();
    assert_eq!(names, [("hidden", false), ("old", true), ("open", false)], "by name, no DM");
    let (_, page) = app.get("/api/v1/admin/channels?limit=1&after=hidden", &admin.token).await;
    assert_eq!((&page["channels"][0]["id"], &page["has_more"]), (&json!(old), &json!(true)));
    let (_, found) = app.get("/api/v1/admin/channels?q=HID", &admin.token).await;
    assert_eq!(found["channels"][0]["id"], json!(hidden));
    assert_eq!(app.get("/api/v1/admin/channels", &owner.token).await.0, StatusCode::FORBIDDEN);
    // What the list is for: a private channel the admin is not in, archived.
    assert_eq!(
        patch(app, &admin, &hidden, json!({"client_msg_id": "a2", "archived": true})).await.0,
        StatusCode::CREATED
    );
    let _ = open;
}
