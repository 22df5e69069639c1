//! Channel names in cluster mode: a taken name is `409` through any node, and
//! a create that lost a race for a name is refused by the processor for good,
//! without holding up what comes after it.

use std::process::Command;
use std::time::Duration;

use parley_testkit::process::ParleyProcess;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Cluster, Person};

/// Sends `signal` (`STOP`, `CONT`) to a node's process.
fn signal(node: &ParleyProcess, signal: &str) {
    let sent = Command::new("kill").args([format!("-{signal}"), node.pid().to_string()]).status().expect("kill runs");
    assert!(sent.success(), "kill -{signal}");
}

async fn create(cluster: &Cluster, node: &ParleyProcess, who: &Person, name: &str, kind: &str) -> (StatusCode, Value) {
    cluster.post(node, who, "/api/v1/channels", json!({"name": name, "kind": kind})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_taken_name_is_409_through_any_node_and_a_lost_race_never_holds_the_processor_up() {
    let cluster = Cluster::new().await;
    let gateways = [cluster.node("gateway"), cluster.node("gateway")];
    let processor = cluster.node("processor");
    let alice = cluster.register(&gateways[0], "alice").await;
    let bob = cluster.register(&gateways[1], "bob").await;

    // Taken already: refused at once by the other node, for any ASCII case,
    // and a private channel's name is taken for a public one too.
    let (status, created) = create(&cluster, &gateways[0], &alice, "General", "public").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, refused) = create(&cluster, &gateways[1], &bob, " general ", "private").await;
    assert_eq!((status, &refused["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")), "{refused}");
    assert_eq!(refused["error"]["message"], "a channel named \"general\" already exists");
    let (status, _) = create(&cluster, &gateways[0], &alice, "secret", "private").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(create(&cluster, &gateways[1], &bob, "SECRET", "public").await.0, StatusCode::CONFLICT);

    // A race: with the processor held, both nodes find the name free and put
    // their create in the command log. Once it runs again, the processor
    // stores one and refuses the other, whose creator is told 409 when its
    // wait for the stored channel runs out.
    signal(&processor, "STOP");
    let release = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        signal(&processor, "CONT");
    };
    let (one, two, ()) = tokio::join!(
        create(&cluster, &gateways[0], &alice, "race", "public"),
        create(&cluster, &gateways[1], &bob, "RACE", "public"),
        release,
    );
    let mut statuses = [one.0, two.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "{one:?} {two:?}");
    let (loser, asked) = if one.0 == StatusCode::CREATED { (&two.1, "RACE") } else { (&one.1, "race") };
    assert_eq!(loser["error"]["message"], format!("a channel named \"{asked}\" already exists"));

    // The processor went on: what comes next is stored as at any time.
    let (status, after) = create(&cluster, &gateways[1], &bob, "after", "public").await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    let after = after["channel"]["id"].as_str().unwrap();
    let path = format!("/api/v1/channels/{after}/messages");
    let (status, posted) = cluster.post(&gateways[0], &bob, &path, json!({"body": "hi", "client_msg_id": "m1"})).await;
    assert_eq!(status, StatusCode::CREATED, "stored within the wait: {posted}");

    let url = gateways[0].url("/api/v1/channels/public");
    let public: Value = cluster.http.get(url).bearer_auth(&alice.token).send().await.unwrap().json().await.unwrap();
    let mut names: Vec<String> =
        public["channels"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_lowercase()).collect();
    names.sort();
    assert_eq!(names, ["after", "general", "race"], "one channel per name");
}
