//! Changes to messages in a cluster: edits, reactions and deletes through two
//! gateways while the processor storing them is killed, and a change over
//! the WebSocket, accepted before it is stored. Every change the
//! server took is stored once, and every live reader, folding the change
//! events it received into the messages it holds, ends with the store's
//! state of every message.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use parley_testkit::process::ParleyProcess;
use parley_testkit::ws::WsClient;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Cluster, Person};

/// A message as a reader sees it: body, deleted, emoji → who reacted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Shown {
    body: String,
    deleted: bool,
    reactions: BTreeMap<String, usize>,
}

/// Folds a channel's events, in `seq` order, into its messages.
fn fold(events: &[Value]) -> BTreeMap<i64, Shown> {
    let mut shown: BTreeMap<i64, Shown> = BTreeMap::new();
    let mut who: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
    for event in events {
        let target = event["target_seq"].as_i64().unwrap_or(0);
        let sender = event["sender_id"].as_str().unwrap_or("").to_owned();
        match event["type"].as_str().unwrap_or("") {
            "message" => {
                let seq = event["seq"].as_i64().unwrap();
                shown.insert(seq, Shown { body: event["body"].as_str().unwrap_or("").into(), ..Shown::default() });
            }
            "message_edited" => shown.entry(target).or_default().body = event["body"].as_str().unwrap_or("").into(),
            "message_deleted" => {
                *shown.entry(target).or_default() = Shown { deleted: true, ..Shown::default() };
                who.retain(|(seq, _), _| *seq != target);
            }
            kind @ ("reaction_added" | "reaction_removed") => {
                let people = who.entry((target, event["emoji"].as_str().unwrap().into())).or_default();
                match kind {
                    "reaction_added" => assert!(people.insert(sender), "a second reaction_added: {event}"),
                    _ => assert!(people.remove(&sender), "a reaction_removed of none: {event}"),
                }
            }
            _ => {}
        }
    }
    for ((seq, emoji), people) in who {
        if !people.is_empty() {
            shown.entry(seq).or_default().reactions.insert(emoji, people.len());
        }
    }
    shown
}

/// The messages as the store serves them, with their state.
fn served(events: &[Value]) -> BTreeMap<i64, Shown> {
    let messages = events.iter().filter(|e| e["type"] == "message");
    messages
        .map(|e| {
            let reactions = e["reactions"].as_array().map(Vec::as_slice).unwrap_or_default();
            let shown = Shown {
                body: e["body"].as_str().unwrap_or("").into(),
                deleted: e["deleted"] == true,
                reactions: reactions
                    .iter()
                    .map(|r| (r["emoji"].as_str().unwrap().into(), r["count"].as_u64().unwrap() as usize))
                    .collect(),
            };
            (e["seq"].as_i64().unwrap(), shown)
        })
        .collect()
}

/// Makes a change through `node`, again with the same key while the node
/// answers 503 (no processor is reachable yet): true once taken.
async fn change(
    cluster: &Cluster,
    node: &ParleyProcess,
    who: &Person,
    method: Method,
    path: &str,
    body: Option<Value>,
) {
    let started = Instant::now();
    loop {
        let mut request = cluster.http.request(method.clone(), node.url(path)).bearer_auth(&who.token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        match status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED => return,
            StatusCode::SERVICE_UNAVAILABLE if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            _ => panic!("{method} {path}: {status} {}", response.text().await.unwrap_or_default()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_through_two_gateways_survive_a_processor_kill() {
    let cluster = Cluster::new().await;
    let gateways = [cluster.node("gateway"), cluster.node("gateway")];
    let mut processors = vec![cluster.node("processor"), cluster.node("processor")];
    let mut people = Vec::new();
    for name in ["alice", "bob", "carol"] {
        people.push(cluster.register(&gateways[0], name).await);
    }
    let room = cluster.rooms(&gateways[0], &people, 1).await.remove(0);
    let node = |i: usize| &gateways[i % 2];
    let mut readers = Vec::new();
    for (i, person) in people.iter().enumerate() {
        readers.push(WsClient::connect(node(i).addr, &person.token, json!({})).await.0);
    }

    // Each person's four messages, stored before the changes begin.
    let before = [cluster.stored_messages(&processors[0]).await, cluster.stored_messages(&processors[1]).await];
    let mut mine: Vec<Vec<i64>> = vec![Vec::new(); people.len()];
    for (i, person) in people.iter().enumerate() {
        for n in 0..4 {
            let body = json!({"body": format!("{} {n}", person.name), "client_msg_id": format!("m{n}")});
            let path = format!("/api/v1/channels/{room}/messages");
            let (status, posted) = cluster.post(node(i), person, &path, body).await;
            assert_eq!(status, StatusCode::CREATED, "{posted}");
            mine[i].push(posted["event"]["seq"].as_i64().unwrap());
        }
    }
    let now = [cluster.stored_messages(&processors[0]).await, cluster.stored_messages(&processors[1]).await];
    let storing = usize::from(now[1] - before[1] > now[0] - before[0]);

    // Rounds of changes from everyone at once; the storing processor dies after the second.
    let emoji = ["👍", "🎉", "👀"];
    for round in 0..5 {
        if round == 2 {
            processors.swap_remove(storing).kill();
        }
        let mut changes = Vec::new();
        for (i, person) in people.iter().enumerate() {
            let others: Vec<i64> =
                mine.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, s)| s.clone()).collect();
            let (cluster, node, room, own) = (&cluster, node(i), &room, mine[i].clone());
            changes.push(async move {
                let key = |what: &str| format!("{what}-{round}");
                let edit = json!({"body": format!("{} edited {round}", person.name), "client_msg_id": key("e")});
                change(
                    cluster,
                    node,
                    person,
                    Method::PATCH,
                    &format!("/api/v1/channels/{room}/messages/{}", own[0]),
                    Some(edit),
                )
                .await;
                let target = others[round % others.len()];
                let reaction = format!("/api/v1/channels/{room}/messages/{target}/reactions/{}", emoji[round % 3]);
                change(cluster, node, person, Method::PUT, &format!("{reaction}?client_msg_id={}", key("r")), None)
                    .await;
                if round % 2 == 1 {
                    let back = format!("{reaction}?client_msg_id={}", key("u"));
                    change(cluster, node, person, Method::DELETE, &back, None).await;
                }
                if round == 3 {
                    let gone = format!("/api/v1/channels/{room}/messages/{}?client_msg_id={}", own[1], key("d"));
                    change(cluster, node, person, Method::DELETE, &gone, None).await;
                }
            });
        }
        futures::future::join_all(changes).await;
    }

    // Settled: the store has every change, and every reader has every event.
    let started = Instant::now();
    let log = loop {
        let log = cluster.log(&gateways[0], &people[0], &room).await;
        let deletes = log.iter().filter(|e| e["type"] == "message_deleted").count();
        let edits = log.iter().filter(|e| e["type"] == "message_edited").count();
        if deletes == people.len() && edits == 5 * people.len() {
            break log;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "changes missing from the store: {edits} edits, {deletes} deletes"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let head = log.last().unwrap()["seq"].as_i64().unwrap();
    let seqs: Vec<i64> = log.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "one log without holes");
    let keys: BTreeSet<(&str, &str)> =
        log.iter().filter_map(|e| Some((e["sender_id"].as_str()?, e["client_msg_id"].as_str()?))).collect();
    let keyed = log.iter().filter(|e| e["client_msg_id"].is_string()).count();
    assert_eq!(keys.len(), keyed, "no change stored twice");
    let store = served(&log);
    assert_eq!(fold(&log), store, "the log folds into the state the store serves");
    for (reader, person) in readers.iter_mut().zip(&people) {
        let events = reader.events_through(&room, head).await;
        let mut received: Vec<Value> = events.into_iter().filter(|e| e["seq"].as_i64().unwrap() > 0).collect();
        received.sort_by_key(|e| e["seq"].as_i64().unwrap());
        received.dedup_by_key(|e| e["seq"].as_i64().unwrap());
        let first = received.first().map(|e| e["seq"].as_i64().unwrap()).unwrap_or(0);
        let folded = fold(&received);
        let own: BTreeMap<i64, Shown> =
            store.iter().filter(|(seq, _)| **seq >= first).map(|(s, v)| (*s, v.clone())).collect();
        assert_eq!(folded, own, "{}: what the live stream told equals the store", person.name);
    }
    let deleted = store.values().filter(|m| m.deleted).count();
    assert_eq!(deleted, people.len(), "one message of each deleted");
    let gone = |e: &Value| people.iter().any(|p| e["body"] == format!("{} 1", p.name));
    assert!(!log.iter().any(gone), "a deleted message's text is in no read");

    // A change over the WebSocket: accepted once in the command log, then stored.
    let (mut ws, _) = WsClient::connect(gateways[1].addr, &people[0].token, json!({})).await;
    let target = mine[0][2];
    ws.send(json!({"type": "change", "ref": 1, "channel_id": room, "client_msg_id": "p-ws", "seq": target,
                   "action": "pin"}))
        .await;
    let ack = ws.next_of("ack").await;
    assert_eq!((ack["status"].clone(), ack.get("seq")), (json!("accepted"), None), "{ack}");
    let started = Instant::now();
    while !cluster.log(&gateways[0], &people[0], &room).await.iter().any(|e| e["type"] == "message_pinned") {
        assert!(started.elapsed() < Duration::from_secs(60), "the pin was never stored");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
