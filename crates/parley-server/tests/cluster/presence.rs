//! Presence and typing cross nodes (Redis).

use parley_testkit::ws::WsClient;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::Cluster;

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
