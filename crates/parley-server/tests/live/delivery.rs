//! Everyone sees every event once, in order; resume brings exactly what was missed.

use parley_testkit::app::spawn_app;
use parley_testkit::ws::WsClient;
use serde_json::{json, Value};

use super::{assert_contiguous, pair};

#[tokio::test]
async fn two_users_exchange_1000_messages_in_order() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let (mut a, ready) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    assert_eq!(ready["user"]["id"], json!(alice.id));
    assert_eq!(ready["channels"][0]["last_seq"], 2);
    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({})).await;

    for i in 0..500 {
        a.post(i, &channel, &format!("a{i}"), &format!("from alice {i}")).await;
        b.post(i, &channel, &format!("b{i}"), &format!("from bob {i}")).await;
    }
    let seen_by_a = a.events_through(&channel, 1002).await;
    let seen_by_b = b.events_through(&channel, 1002).await;
    assert_contiguous(&seen_by_a, 3);
    assert_contiguous(&seen_by_b, 3);
    assert_eq!(seen_by_a, seen_by_b, "both see the same log");
    let from_alice = seen_by_a.iter().filter(|e| e["sender_id"] == json!(alice.id)).count();
    assert_eq!(from_alice, 500);
}

#[tokio::test]
async fn acks_carry_the_stored_seq_and_a_retry_makes_one_event() {
    let app = spawn_app().await;
    let (alice, _bob, channel) = pair(&app).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    a.post("r1", &channel, "same", "once").await;
    a.post(json!({"any": "json"}), &channel, "same", "twice?").await;
    a.post("r3", &channel, "next", "after").await;
    let (mut acks, mut events) = (Vec::new(), Vec::new());
    while acks.len() < 3 || events.len() < 2 {
        let frame = a.next().await;
        match frame["type"].as_str().unwrap() {
            "ack" => acks.push(frame),
            "event" => events.push(frame["event"].clone()),
            _ => {}
        }
    }
    assert_eq!(acks[0], json!({"type": "ack", "ref": "r1", "client_msg_id": "same", "status": "stored", "seq": 3}));
    let retry = acks.iter().find(|a| a["ref"] == json!({"any": "json"})).unwrap();
    assert_eq!(retry["seq"], 3, "the retry is acked with the first event's seq");
    assert_eq!(events.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(events[0]["body"], "once");
    a.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(a.next_of("pong").await["ref"], 1, "no third event came before the pong");
}

#[tokio::test]
async fn resume_brings_exactly_what_was_missed_then_live() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let (b, ready) = WsClient::connect(app.addr, &bob.token, json!({})).await;
    let last = ready["channels"][0]["last_seq"].as_i64().unwrap();
    drop(b);

    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    for i in 0..500 {
        a.post(i, &channel, &format!("m{i}"), "while bob was away").await;
    }
    a.events_through(&channel, last + 500).await;

    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({ &channel: last })).await;
    let missed = b.events_through(&channel, last + 500).await;
    assert_eq!(missed.len(), 500);
    assert_contiguous(&missed, last + 1);
    a.post("live", &channel, "live", "and now live").await;
    let live = b.next_of("event").await;
    assert_eq!((&live["event"]["seq"], &live["event"]["body"]), (&json!(last + 501), &json!("and now live")));
}

#[tokio::test]
async fn resume_from_zero_over_3000_events_is_events_plus_one_gap() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let (mut a, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    for i in 0..2998 {
        a.post(i, &channel, &format!("m{i}"), "x").await;
    }
    a.events_through(&channel, 3000).await;

    let (mut b, _) = WsClient::connect(app.addr, &bob.token, json!({ &channel: 0 })).await;
    let mut covered = Vec::new();
    loop {
        let frame = b.next().await;
        match frame["type"].as_str().unwrap() {
            "event" => covered.push(frame["event"]["seq"].as_i64().unwrap()),
            "gap" => {
                assert_eq!(frame["channel_id"], json!(channel));
                let (after, through) = (frame["after_seq"].as_i64().unwrap(), frame["through_seq"].as_i64().unwrap());
                assert_eq!(after, *covered.last().unwrap());
                covered.extend(after + 1..=through);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(covered.len(), 3000);
    assert_eq!(covered, (1..=3000).collect::<Vec<_>>());
    // After the gap, live events go on from the head.
    a.post("live", &channel, "live", "live").await;
    assert_eq!(b.next_of("event").await["event"]["seq"], 3001);
}

#[tokio::test]
async fn concurrent_senders_are_seen_in_one_order_by_everyone() {
    let app = spawn_app().await;
    let (alice, bob, channel) = pair(&app).await;
    let carol = app.register("carol").await;
    app.post(&format!("/api/v1/channels/{channel}/join"), &carol.token, json!({})).await;
    let mut readers = Vec::new();
    for user in [&alice, &bob, &carol] {
        readers.push(WsClient::connect(app.addr, &user.token, json!({})).await.0);
    }
    let mut writers = Vec::new();
    for user in [&alice, &bob, &carol] {
        let (addr, token, channel) = (app.addr, user.token.clone(), channel.clone());
        writers.push(tokio::spawn(async move {
            let (mut w, _) = WsClient::connect(addr, &token, json!({})).await;
            for i in 0..100 {
                w.post(i, &channel, &format!("w{i}"), "concurrent").await;
            }
            for _ in 0..100 {
                assert_eq!(w.next_of("ack").await["status"], "stored");
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let mut logs: Vec<Vec<Value>> = Vec::new();
    for reader in &mut readers {
        let events = reader.events_through(&channel, 303).await;
        assert_contiguous(&events, 4);
        logs.push(events);
    }
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[1], logs[2]);
}
