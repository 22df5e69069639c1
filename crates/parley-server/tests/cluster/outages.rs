//! Outages in cluster mode: no processor for 30 s.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{check_all, Client, Cluster};

/// Every processor stopped for 30 s while people keep sending: each send is
/// acked `accepted` from the command log; once a processor returns, every
/// message is stored and delivered, in order, none lost, none doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_are_accepted_while_no_processor_runs() {
    let cluster = Cluster::new().await;
    let gateway = cluster.node("gateway");
    let processor = cluster.node("processor");
    let alice = cluster.register(&gateway, "alice").await;
    let bob = cluster.register(&gateway, "bob").await;
    let carol = cluster.register(&gateway, "carol").await;
    let (_, created) =
        cluster.post(&gateway, &alice, "/api/v1/channels", json!({"name": "room", "kind": "public"})).await;
    let room = created["channel"]["id"].as_str().unwrap().to_owned();
    let (status, _) = cluster.post(&gateway, &bob, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let mut clients = [Client::connect(&gateway, &alice).await, Client::connect(&gateway, &bob).await];
    for client in &mut clients {
        client.follow(&room, 3);
    }

    processor.kill();
    // A join is durable in the command log too, but needs its answer: after
    // 5 s without a processor it is `unavailable`, and takes effect later.
    let asked = Instant::now();
    let (status, refused) = cluster.post(&gateway, &carol, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    assert_eq!((status, &refused["error"]["code"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")));
    assert!(asked.elapsed() >= Duration::from_secs(5), "answered after the 5 s wait, not before");
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(30) {
        for client in &mut clients {
            let id = format!("{}-{sent}", client.who.name);
            client.send(&room, &id, &format!("{} while down {sent}", client.who.name)).await;
            client.read_until(|c| c.unanswered() == 0).await;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for client in &clients {
        assert_eq!(client.accepted, sent, "{}: acked `accepted` with no processor", client.who.name);
        assert!(client.received(&room).iter().all(|(seq, _)| *seq <= 2), "nothing stored without a processor");
    }
    assert_eq!(cluster.log(&gateway, &alice, &room).await.len(), 2, "the log holds the two joins only");

    let _processor = cluster.node("processor");
    // Carol's join came before every message: seq 3.
    let last = 3 + 2 * sent as i64;
    for client in &mut clients {
        client.read_until(|c| c.received(&room).iter().any(|(seq, _)| *seq >= last)).await;
    }
    let report = check_all(&cluster, &gateway, &alice, &clients.iter().collect::<Vec<_>>(), &[&room]).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.acked, report.log_events), (2 * sent, 3 + 2 * sent));
    let log = cluster.log(&gateway, &alice, &room).await;
    assert_eq!((&log[2]["type"], &log[2]["user_id"]), (&json!("member_joined"), &json!(carol.id)));
    let (status, again) = cluster.post(&gateway, &carol, &format!("/api/v1/channels/{room}/join"), json!({})).await;
    assert_eq!((status, &again["channel"]["member_count"]), (StatusCode::OK, &json!(3)), "joining again is harmless");
}
