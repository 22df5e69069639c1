//! Presence, typing and read markers cross nodes (Redis), and a silent
//! client goes offline on every node.

use std::time::{Duration, Instant};

use futures::StreamExt;
use parley_server::gateway::session::SILENT_FOR;
use parley_testkit::ws::WsClient;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Cluster, Person};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_and_typing_cross_nodes() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let carol = cluster.register(&nodes[1], "carol").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    let (status, _) = cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    // Bob connects to the other node: he is told alice is online, she is told he came.
    let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    assert_eq!(b.next_of("presence").await, json!({"type": "presence", "user_id": alice.id, "status": "online"}));
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));

    a.send(json!({"type": "typing", "channel_id": room})).await;
    assert_eq!(b.next_of("typing").await, json!({"type": "typing", "channel_id": room, "user_id": alice.id}));

    // Carol shares no channel with alice: her coming and going is not alice's business.
    let (c, _) = WsClient::connect(nodes[1].addr, &carol.token, json!({})).await;
    drop(c);
    drop(b);
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "offline"}));
}

/// Redis restarted: messages flow on as before (they never touch Redis), and
/// presence is right again within 30 s (each node renews its claim).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restart_leaves_messaging_alone_and_presence_recovers() {
    let cluster = Cluster::alone().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;

    parley_testkit::services::control(&["restart-redis"]);
    let path = format!("/api/v1/channels/{room}/messages");
    let (status, posted) =
        cluster.post(&nodes[1], &bob, &path, json!({"body": "still here", "client_msg_id": "r1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let event = a.next_of("event").await;
    assert_eq!(event["event"]["body"], "still here");

    // Alice's claim comes back with her node's next renewal: a new session of
    // bob's is told she is online.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
        b.send(json!({"type": "ping", "ref": "end"})).await;
        let mut told = false;
        loop {
            let frame = b.next().await;
            if frame["type"] == "presence" && frame["user_id"] == alice.id.as_str() {
                told = frame["status"] == "online";
            }
            if frame["type"] == "pong" {
                break;
            }
        }
        if told {
            break;
        }
        assert!(Instant::now() < deadline, "alice shown online again within 30 s of the restart");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A join introduces the joiner and the channel's members to each other
/// across nodes: each node asks Redis who is online, for its own sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_introduces_people_online_on_other_nodes() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "private"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    let (_, invite) = cluster.post(&nodes[0], &alice, &format!("/api/v1/channels/{room}/invites"), json!({})).await;
    let code = invite["invite"]["code"].as_str().unwrap().to_owned();

    // Online on different nodes, sharing no channel yet: nothing to tell.
    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    // Bob joins through the third node, where neither is connected.
    let (status, _) = cluster.post(&nodes[2], &bob, &format!("/api/v1/invites/{code}/accept"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));
    let (mut added, mut told) = (None, None);
    while added.is_none() || told.is_none() {
        let frame = b.next().await;
        match frame["type"].as_str() {
            Some("channel_added") => added = Some(frame["channel"]["id"].clone()),
            Some("presence") => told = Some(frame),
            _ => {}
        }
    }
    assert_eq!(added, Some(json!(room)));
    assert_eq!(told, Some(json!({"type": "presence", "user_id": alice.id, "status": "online"})));
}

/// A client whose network dropped silently (it sends nothing, answers no
/// ping, never closes) is closed at the server's liveness deadline, and its
/// channel-mates on another node see it go offline within the promised 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_client_goes_offline_on_every_node_within_60_s() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;

    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    // Bob's client is never read again from here on: the server's pings are
    // not answered, and the socket stays open.
    let (silent, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    let since = Instant::now();
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));

    // Read alice's socket directly: its frames may be further apart than
    // `WsClient`'s patience for one frame.
    let offline = json!({"type": "presence", "user_id": bob.id, "status": "offline"});
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match a.socket.next().await {
                Some(Ok(Message::Text(text))) if serde_json::from_str::<Value>(&text).unwrap() == offline => break,
                Some(Ok(_)) => {}
                other => panic!("alice's socket ended: {other:?}"),
            }
        }
    })
    .await;
    let after = since.elapsed();
    assert!(told.is_ok(), "bob still online for alice 60 s after his client went silent");
    assert!(after >= SILENT_FOR - Duration::from_secs(1), "offline after {after:?}: before the deadline?");
    drop(silent);
}

/// A read, a change of preferences or a block on one node reaches its owner's
/// sessions on every node, through the same relay as typing; the channel's
/// other members hear nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_marker_and_preferences_follow_their_owner_across_nodes() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    for id in ["m1", "m2"] {
        let body = json!({"body": "hello", "client_msg_id": id});
        let (status, _) = cluster.post(&nodes[0], &alice, &format!("/api/v1/channels/{room}/messages"), body).await;
        assert_eq!(status, StatusCode::CREATED); // seqs 3 and 4
    }

    let (mut here, _) = WsClient::connect(nodes[0].addr, &bob.token, json!({})).await;
    let (mut there, ready) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    assert_eq!(ready["channels"][0]["unread_count"], 2);
    let (mut a, _) = WsClient::connect(nodes[1].addr, &alice.token, json!({})).await;

    here.send(json!({"type": "read", "channel_id": room, "seq": 3})).await;
    let moved =
        json!({"type": "read_marker", "channel_id": room, "last_read_seq": 3, "unread_count": 1, "mention_count": 0});
    assert_eq!(there.next_of("read_marker").await, moved, "the other node's session");
    assert_eq!(here.next_of("read_marker").await, moved, "the reader's own, back from Redis");

    let (status, _) = cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/read"), json!({"seq": 4})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let moved =
        json!({"type": "read_marker", "channel_id": room, "last_read_seq": 4, "unread_count": 0, "mention_count": 0});
    assert_eq!(here.next_of("read_marker").await, moved, "a REST read through the other node");
    assert_eq!(there.next_of("read_marker").await, moved);

    // Preferences go the same way.
    let muted = cluster
        .http
        .put(nodes[1].url(&format!("/api/v1/channels/{room}/preferences")))
        .bearer_auth(&bob.token)
        .json(&json!({"muted": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(muted.status(), StatusCode::OK);
    let changed =
        json!({"type": "preferences", "channel_id": room, "preferences": {"notify": "mentions", "muted": true}});
    assert_eq!(here.next_of("preferences").await, changed, "from the other node");
    assert_eq!(there.next_of("preferences").await, changed);

    // And blocks.
    let blocked = cluster
        .http
        .put(nodes[1].url(&format!("/api/v1/me/blocks/{}", alice.id)))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::NO_CONTENT);
    let told = json!({"type": "blocked", "user_id": alice.id, "blocked": true});
    assert_eq!(here.next_of("blocked").await, told, "from the other node");
    assert_eq!(there.next_of("blocked").await, told);

    // Node 1 offered each marker to bob's sessions there at once: had alice's
    // session there been offered one, it would come before her pong.
    a.send(json!({"type": "ping", "ref": "end"})).await;
    loop {
        let frame = a.next().await;
        assert!(
            !["read_marker", "preferences"].contains(&frame["type"].as_str().unwrap_or("")),
            "alice is told nothing of bob's: {frame}"
        );
        if frame["type"] == "pong" {
            break;
        }
    }
}

/// Mallory opened a DM with alice, who has not answered: on every node
/// mallory's sessions are told nothing of alice (at connect, from the store;
/// live, from her notices), while bob's, in a channel with her, are. Once
/// alice writes in the DM, mallory's sessions on both nodes are told she is
/// online: on hers at once, on the other after asking Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dm_shows_its_recipient_on_no_node_until_they_answer() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let mallory = cluster.register(&nodes[1], "mallory").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    cluster.post(&nodes[1], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    let (status, opened) = cluster.post(&nodes[1], &mallory, "/api/v1/dms", json!({"user_ids": [alice.id]})).await;
    assert!(status.is_success(), "{opened}");
    let dm = opened["channel"]["id"].as_str().unwrap().to_owned();
    let online = |who: &Person| json!({"type": "presence", "user_id": who.id, "status": "online"});
    let offline = |who: &Person| json!({"type": "presence", "user_id": who.id, "status": "offline"});

    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    // Bob, once told, knows Redis has alice online; his session on node 0
    // is told what mallory's there would be, at the same time.
    let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    assert_eq!(b.next_of("presence").await, online(&alice));
    let (mut b0, _) = WsClient::connect(nodes[0].addr, &bob.token, json!({})).await;
    assert_eq!(b0.next_of("presence").await, online(&alice));
    let (mut m, _) = WsClient::connect(nodes[1].addr, &mallory.token, json!({})).await;
    let (mut m0, _) = WsClient::connect(nodes[0].addr, &mallory.token, json!({})).await;
    assert!(told(&mut m).await.is_empty(), "at connect, from the store");
    assert!(told(&mut m0).await.is_empty(), "at connect, on alice's own node");
    // Alice is told of who opened the DM (and of bob).
    while a.next_of("presence").await != online(&mallory) {}

    drop(a);
    assert_eq!(b.next_of("presence").await, offline(&alice));
    assert_eq!(b0.next_of("presence").await, offline(&alice));
    assert!(told(&mut m).await.is_empty() && told(&mut m0).await.is_empty(), "alice's going, on either node");
    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    assert_eq!(b.next_of("presence").await, online(&alice));
    assert_eq!(b0.next_of("presence").await, online(&alice));
    assert!(told(&mut m).await.is_empty() && told(&mut m0).await.is_empty(), "alice's coming, on either node");

    a.post(1, &dm, "a1", "who are you?").await;
    assert_eq!(m.next_of("presence").await, online(&alice), "she answered: the other node asked Redis");
    assert_eq!(m0.next_of("presence").await, online(&alice), "her own node knew");
    let (mut again, _) = WsClient::connect(nodes[1].addr, &mallory.token, json!({})).await;
    assert!(told(&mut again).await.contains(&online(&alice)), "and at connect");
    drop(a);
    assert_eq!(m.next_of("presence").await, offline(&alice));
}

/// The presence frames `client` gets before the answer to a ping sent now.
async fn told(client: &mut WsClient) -> Vec<Value> {
    client.send(json!({"type": "ping", "ref": "told"})).await;
    let mut told = Vec::new();
    loop {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("presence") => told.push(frame),
            Some("pong") => return told,
            _ => {}
        }
    }
}

/// A mention sent through one node is stored by the processor with whom it
/// tells: a session of the person mentioned on the other node has the event
/// naming them and a raised count, and `@here` reaches whoever is online on
/// any node (Redis), not who is offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mention_through_one_node_is_counted_for_a_session_on_another() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let carol = cluster.register(&nodes[1], "carol").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    for who in [&bob, &carol] {
        cluster.post(&nodes[1], who, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    }
    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    // Bob is online for the cluster once alice, on the other node, hears so.
    assert_eq!(a.next_of("presence").await, json!({"type": "presence", "user_id": bob.id, "status": "online"}));

    let path = format!("/api/v1/channels/{room}/messages");
    for (id, body) in [("m1", "@here standup"), ("m2", "and @bob, the notes")] {
        let (status, posted) = cluster.post(&nodes[0], &alice, &path, json!({"body": body, "client_msg_id": id})).await;
        assert_eq!(status, StatusCode::CREATED, "{posted}");
    }
    let here = b.next_of("event").await;
    assert_eq!((&here["event"]["body"], &here["event"]["mentions_here"]), (&json!("@here standup"), &json!(true)));
    let named = b.next_of("event").await;
    assert_eq!(named["event"]["mentions"], json!([bob.id]));

    let count = |who: &Person| {
        let (cluster, node, token, room) = (&cluster, &nodes[1], who.token.clone(), room.clone());
        async move {
            let mine: Value = cluster
                .http
                .get(node.url("/api/v1/channels"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let listed = mine["channels"].as_array().unwrap().iter().find(|c| c["id"] == room.as_str()).cloned();
            listed.expect("the room is listed")["mention_count"].clone()
        }
    };
    assert_eq!(count(&bob).await, 2, "@here and his name");
    assert_eq!(count(&carol).await, 0, "carol was offline: @here did not reach her");

    let seq = named["event"]["seq"].clone();
    b.send(json!({"type": "read", "channel_id": room, "seq": seq})).await;
    let moved = b.next_of("read_marker").await;
    assert_eq!((&moved["unread_count"], &moved["mention_count"]), (&json!(0), &json!(0)));
}

/// A message sent through one node is found by a search on another within
/// a second of its `ack`: the processor indexes it in the transaction that
/// stores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_is_found_on_another_node_within_a_second() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let (_, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    let (mut a, _) = WsClient::connect(nodes[0].addr, &alice.token, json!({})).await;
    a.send(
        json!({"type": "send", "ref": 1, "channel_id": room, "client_msg_id": "s1", "body": "Zebra crossing at noon"}),
    )
    .await;
    let ack = a.next_of("ack").await;
    let acked = Instant::now();
    assert_eq!(ack["client_msg_id"], "s1", "{ack}");
    loop {
        let page: Value = cluster
            .http
            .get(nodes[1].url("/api/v1/search?q=zebra%20cross"))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page["results"].as_array().is_some_and(|r| !r.is_empty()) {
            assert_eq!(page["results"][0]["event"]["body"], "Zebra crossing at noon");
            break;
        }
        assert!(acked.elapsed() < Duration::from_secs(1), "not found within a second of the ack: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An admin deactivating someone through one node throws out their open
/// session on another within a second (the sessions ended go to every node
/// through Redis), and they cannot sign in through either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_through_one_node_closes_a_socket_on_another() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (mut b, _) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    let started = Instant::now();
    let response = cluster
        .http
        .patch(nodes[0].url(&format!("/api/v1/admin/users/{}", bob.id)))
        .bearer_auth(&alice.token)
        .json(&json!({"deactivated": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "alice, the first account, is the admin");
    assert_eq!(b.closed().await, Some(4003));
    assert!(started.elapsed() < Duration::from_secs(1), "closed in {:?}", started.elapsed());
    for node in &nodes {
        let login = json!({"username": "bob", "password": "correct horse battery"});
        let status = cluster.http.post(node.url("/api/v1/auth/login")).json(&login).send().await.unwrap().status();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
