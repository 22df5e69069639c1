//! Three nodes, one order: people connected to different nodes see the same
//! events in the same order, and a DM crosses nodes.

use std::time::Duration;

use parley_testkit::ws::WsClient;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{check_all, Client, Cluster};

const EACH: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_see_one_order_and_a_dm_crosses_nodes() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all"), cluster.node("all")];
    let mut people = Vec::new();
    for (node, name) in nodes.iter().zip(["alice", "bob", "carol"]) {
        people.push(cluster.register(node, name).await);
    }
    let (status, created) =
        cluster.post(&nodes[0], &people[0], "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    for i in 1..3 {
        let (status, _) =
            cluster.post(&nodes[i], &people[i], &format!("/api/v1/channels/{room}/join"), json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }

    // Everyone sends at once, each through their own node; seq 1–3 are the joins.
    let mut clients = Vec::new();
    for (node, person) in nodes.iter().zip(&people) {
        let mut client = Client::connect(node, person).await;
        client.follow(&room, 4);
        clients.push(client);
    }
    for i in 0..EACH {
        for client in &mut clients {
            let id = format!("{}-{i}", client.who.name);
            client.send(&room, &id, &format!("{} says {i}", client.who.name)).await;
        }
    }
    let last = 3 + (EACH * 3) as i64;
    for client in &mut clients {
        client.read_until(|c| c.unanswered() == 0 && c.received(&room).iter().any(|(seq, _)| *seq >= last)).await;
        assert_eq!(client.accepted, EACH, "{}: every send acked `accepted` (cluster mode)", client.who.name);
    }
    let orders: Vec<Vec<(i64, String)>> =
        clients.iter().map(|c| c.received(&room).into_iter().filter(|(seq, _)| *seq >= 4).collect()).collect();
    assert_eq!(orders[0].len(), EACH * 3);
    assert!(orders.iter().all(|o| *o == orders[0]), "every node delivered the same events in the same order");
    let report = check_all(&cluster, &nodes[0], &people[0], &clients.iter().collect::<Vec<_>>(), &[&room]).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.acked, EACH * 3);

    // A DM opened on one node, written to through a second, read live on a third.
    let (status, dm) = cluster.post(&nodes[0], &people[0], "/api/v1/dms", json!({"user_ids": [people[1].id]})).await;
    assert_eq!(status, StatusCode::OK);
    let dm = dm["channel"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/channels/{dm}/messages");
    let (status, posted) =
        cluster.post(&nodes[2], &people[0], &path, json!({"body": "psst", "client_msg_id": "dm-1"})).await;
    assert_eq!(status, StatusCode::CREATED, "REST waits for the stored event: {posted}");
    assert_eq!(posted["event"]["body"], "psst");
    let seq = posted["event"]["seq"].as_i64().unwrap();
    let bob = &mut clients[1];
    bob.read_until(|c| c.received(&dm).iter().any(|(s, _)| *s == seq)).await;
    // The same client_msg_id again: the first event, 200, nothing new.
    let (status, again) =
        cluster.post(&nodes[1], &people[0], &path, json!({"body": "psst!", "client_msg_id": "dm-1"})).await;
    assert_eq!((status, &again["event"]["seq"]), (StatusCode::OK, &posted["event"]["seq"]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(cluster.log(&nodes[1], &people[1], &dm).await.len() as i64, seq, "stored once");
    // Refused at once, not accepted and then dropped by the processor.
    let bad = json!({"body": "re", "client_msg_id": "dm-2", "reply_to_seq": seq + 50});
    assert_eq!(cluster.post(&nodes[1], &people[0], &path, bad).await.0, StatusCode::BAD_REQUEST);
}

/// A join and a leave made through one node while messages flow through
/// another: the joiner's session on a third node gets exactly the events from
/// its `member_joined` to its `member_left`, live and in order. (A channel has
/// one writer, the processor of its partition, so a membership event can
/// neither overtake nor trail the messages around it on the feed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_and_a_leave_through_other_nodes_bound_what_the_joiner_sees() {
    const BURST: usize = 40;
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("all"), cluster.node("all"), cluster.node("all")];
    let alice = cluster.register(&nodes[0], "alice").await;
    let bob = cluster.register(&nodes[1], "bob").await;
    let (status, created) =
        cluster.post(&nodes[0], &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["channel"]["member_count"], 1, "answered once stored");

    let mut sender = Client::connect(&nodes[0], &alice).await;
    sender.follow(&room, 2);
    let (mut watcher, ready) = WsClient::connect(nodes[1].addr, &bob.token, json!({})).await;
    assert_eq!(ready["channels"], json!([]), "bob is in no channel yet");

    let burst = |n: usize| (n * BURST..(n + 1) * BURST).map(|i| format!("m{i}"));
    for id in burst(0) {
        sender.send(&room, &id, &id).await;
    }
    let (status, joined) = cluster.post(&nodes[2], &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    for id in burst(1) {
        sender.send(&room, &id, &id).await;
    }
    let (status, _) = cluster.post(&nodes[2], &bob, &format!("/api/v1/channels/{room}/leave"), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for id in burst(2) {
        sender.send(&room, &id, &id).await;
    }
    let last = 1 + 2 + (3 * BURST) as i64;
    sender.read_until(|c| c.unanswered() == 0 && c.received(&room).iter().any(|(seq, _)| *seq >= last)).await;
    assert_eq!(sender.accepted, 3 * BURST);

    let added = watcher.next_of("channel_added").await;
    assert_eq!(added["channel"]["id"], room);
    let mut seen = Vec::new();
    loop {
        let event = watcher.next_of("event").await["event"].clone();
        assert_eq!(event["channel_id"], room);
        let done = event["type"] == "member_left";
        seen.push(event);
        if done {
            break;
        }
    }
    let (first, left) = (&seen[0], &seen[seen.len() - 1]);
    assert_eq!((&first["type"], &first["user_id"]), (&json!("member_joined"), &json!(bob.id)));
    assert_eq!(left["user_id"], bob.id);
    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let from = seqs[0];
    assert_eq!(seqs, (from..from + seqs.len() as i64).collect::<Vec<_>>(), "every event from join to leave, in order");
    assert!(seqs.len() > 2, "the join and the leave came between messages: {seqs:?}");
    // Nothing after the leave but the channel's removal: a ping's pong comes next.
    watcher.send(json!({"type": "ping", "ref": 1})).await;
    let next = loop {
        let frame = watcher.next().await;
        if !["presence", "channel_removed"].contains(&frame["type"].as_str().unwrap_or_default()) {
            break frame;
        }
    };
    assert_eq!(next["type"], "pong", "no event after the leave: {next}");
    let log = cluster.log(&nodes[1], &alice, &room).await;
    assert_eq!(log.len() as i64, last, "every event stored once");
}
