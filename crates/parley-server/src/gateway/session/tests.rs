//! The session over in-memory channels: no socket, the real store.

use super::*;
use crate::{Application, Config};
use futures::channel::mpsc;
use parley_core::id::UserId;
use parley_core::model::ChannelKind;
use parley_core::parse::{Body, ChannelName, ClientMsgId, Password, Username};
use parley_core::writer::Answer;
use serde_json::{json, Value};

struct Rig {
    state: AppState,
    user: User,
    token_hash: String,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let config =
        Config { listen: ([127, 0, 0, 1], 0).into(), data_dir: dir.path().into(), send_rate: 0, ..Config::default() };
    let state = Application::build(config).await.unwrap().state();
    let new =
        crate::auth::NewAccount::by_owner(Username::parse("alice").unwrap(), Password::parse("long enough").unwrap());
    let (user, token, _) = state.auth.register(new).await.unwrap();
    let (_, token_hash) = state.auth.authenticate(&token).await.unwrap();
    Rig { state, user, token_hash, _dir: dir }
}

/// Starts a session; returns what to feed it and what it wrote.
fn start(rig: &Rig, resume: Resume) -> (mpsc::Sender<Inbound>, mpsc::Receiver<Outbound>) {
    let (input, inbound) = mpsc::channel(16);
    let (outbound, output) = mpsc::channel(4096);
    let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: None };
    tokio::spawn(serve(
        rig.state.clone(),
        rig.user.clone(),
        rig.token_hash.clone(),
        resume,
        inbound,
        outbound,
        settings,
    ));
    (input, output)
}

async fn next(output: &mut mpsc::Receiver<Outbound>) -> Value {
    loop {
        let out = tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap().unwrap();
        if let Outbound::Frame(frame) = out {
            return serde_json::from_str(frame.text.as_str()).unwrap();
        }
    }
}

async fn channel_with_messages(rig: &Rig, count: usize) -> ChannelId {
    let name = ChannelName::parse("general").unwrap();
    let channel = rig.state.chat.create_channel(rig.user.id, name, ChannelKind::Public, None).await.unwrap();
    for i in 0..count {
        let id = ClientMsgId::parse(&format!("m{i}")).unwrap();
        rig.state
            .chat
            .post(
                rig.user.id,
                channel.id,
                id,
                Body::parse("hi").unwrap(),
                None,
                Answer::Durable { member_through: None },
            )
            .await
            .unwrap()
            .stored()
            .unwrap();
    }
    channel.id
}

#[tokio::test]
async fn ready_then_replay_then_answers() {
    let rig = rig().await;
    let channel = channel_with_messages(&rig, 3).await;
    let (mut input, mut output) = start(&rig, Resume::from([(channel, 1)]));
    let ready = next(&mut output).await;
    assert_eq!((&ready["type"], &ready["channels"][0]["last_seq"]), (&json!("ready"), &json!(4)));
    for seq in 2..=4 {
        assert_eq!(next(&mut output).await["event"]["seq"], seq);
    }
    input.send(Inbound::Text(r#"{"type":"ping","ref":9}"#.into())).await.unwrap();
    assert_eq!(next(&mut output).await, json!({"type": "pong", "ref": 9}));
    input.send(Inbound::Text("nonsense".into())).await.unwrap();
    assert_eq!(next(&mut output).await["code"], "bad_request");
    input.send(Inbound::Binary).await.unwrap();
    assert_eq!(next(&mut output).await["code"], "bad_request");
    input.send(Inbound::TooLarge).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap();
    assert!(matches!(closed, Some(Outbound::Close(CloseCode::TooLarge, _))));
}

#[tokio::test]
async fn live_events_are_deduplicated_and_holes_refilled_from_the_store() {
    let rig = rig().await;
    let channel = channel_with_messages(&rig, 0).await;
    let (_input, mut output) = start(&rig, Resume::new());
    assert_eq!(next(&mut output).await["type"], "ready");
    let mut stored = Vec::new();
    for i in 0..3 {
        let id = ClientMsgId::parse(&format!("n{i}")).unwrap();
        let posted = rig
            .state
            .chat
            .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Answer::Durable { member_through: None })
            .await
            .unwrap()
            .stored()
            .unwrap();
        stored.push(posted.event);
    }
    // The hub hands over seq 4 first (2 and 3 never came live), then 2 again.
    rig.state.hub.deliver(&stored[2..]);
    rig.state.hub.deliver(&stored[..1]);
    rig.state.hub.deliver(&stored[2..]);
    for seq in 2..=4 {
        assert_eq!(next(&mut output).await["event"]["seq"], seq);
    }
    let id = ClientMsgId::parse("last").unwrap();
    let last = rig
        .state
        .chat
        .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Answer::Durable { member_through: None })
        .await
        .unwrap()
        .stored()
        .unwrap();
    rig.state.hub.deliver(&[last.event]);
    assert_eq!(next(&mut output).await["event"]["seq"], 5, "nothing was sent twice");
}

#[tokio::test]
async fn pings_then_closes_a_silent_client() {
    let rig = rig().await;
    let (input, inbound) = mpsc::channel(16);
    let (outbound, mut output) = mpsc::channel(64);
    let settings = Settings { ping_every: Duration::from_millis(50), idle_after: Some(Duration::from_millis(200)) };
    tokio::spawn(serve(
        rig.state.clone(),
        rig.user.clone(),
        rig.token_hash.clone(),
        Resume::new(),
        inbound,
        outbound,
        settings,
    ));
    let (mut pings, mut close) = (0, None);
    while let Ok(Some(out)) = tokio::time::timeout(Duration::from_secs(5), output.next()).await {
        match out {
            Outbound::Ping => pings += 1,
            Outbound::Close(code, _) => {
                close = Some(code);
                break;
            }
            Outbound::Frame(_) => {}
        }
    }
    assert!(pings >= 2, "{pings} pings");
    assert_eq!(close, Some(CloseCode::GoingAway));
    drop(input);
}

#[tokio::test]
async fn a_silent_client_is_closed_at_its_deadline_not_at_the_next_ping() {
    let rig = rig().await;
    let (_input, inbound) = mpsc::channel::<Inbound>(16);
    let (outbound, mut output) = mpsc::channel(64);
    let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: Some(Duration::from_millis(200)) };
    let started = Instant::now();
    tokio::spawn(serve(
        rig.state.clone(),
        rig.user.clone(),
        rig.token_hash.clone(),
        Resume::new(),
        inbound,
        outbound,
        settings,
    ));
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), output.next()).await.unwrap() {
            Some(Outbound::Close(code, _)) => break code,
            Some(_) => {}
            None => panic!("ended without a close"),
        }
    };
    assert_eq!(close, CloseCode::GoingAway);
    assert!(started.elapsed() < Duration::from_secs(2), "closed after {:?}", started.elapsed());
}

/// A peer whose network dropped takes no more bytes: the session's write
/// is stuck, it reads nothing, and still its user goes offline for the
/// others at the deadline, before the close frame (which never gets out).
#[tokio::test]
async fn a_client_that_stops_reading_goes_offline_at_its_deadline() {
    let rig = rig().await;
    let channel = channel_with_messages(&rig, 0).await;
    let bob = UserId::generate();
    let (_, mut bobs_queue, _) = rig.state.hub.register(bob, "t".into(), &[channel], &Default::default());
    let (_input, inbound) = mpsc::channel::<Inbound>(16);
    // Room for `ready` and a frame or two; the rest waits on a reader that never comes.
    let (outbound, mut output) = mpsc::channel(1);
    let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: Some(Duration::from_millis(300)) };
    tokio::spawn(serve(
        rig.state.clone(),
        rig.user.clone(),
        rig.token_hash.clone(),
        Resume::new(),
        inbound,
        outbound,
        settings,
    ));
    assert_eq!(next(&mut output).await["type"], "ready");
    let mut events = Vec::new();
    for i in 0..16 {
        let id = ClientMsgId::parse(&format!("s{i}")).unwrap();
        let posted =
            rig.state.chat.post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Answer::Stored).await;
        events.push(posted.unwrap().stored().unwrap().event);
    }
    let started = Instant::now();
    rig.state.hub.deliver(&events);
    let offline = format!(r#"{{"type":"presence","user_id":"{}","status":"offline"}}"#, rig.user.id);
    loop {
        let delivery = tokio::time::timeout(Duration::from_secs(5), bobs_queue.recv()).await.unwrap().unwrap();
        if matches!(&delivery, Delivery::Frame(frame) if frame.text.as_str() == offline) {
            break;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(2), "offline after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_full_queue_closes_the_session_with_1008() {
    let rig = rig().await;
    let channel = channel_with_messages(&rig, 0).await;
    let (_input, mut output) = start(&rig, Resume::new());
    assert_eq!(next(&mut output).await["type"], "ready");
    // Never read the output again: the session blocks writing, its hub queue fills.
    let id = ClientMsgId::parse("m").unwrap();
    let event = rig
        .state
        .chat
        .post(rig.user.id, channel, id, Body::parse("x").unwrap(), None, Answer::Durable { member_through: None })
        .await
        .unwrap()
        .stored()
        .unwrap()
        .event;
    let flood: Vec<_> = (0..crate::gateway::hub::SESSION_QUEUE + 4200).map(|_| event.clone()).collect();
    rig.state.hub.deliver(&flood);
    let mut saw_close = false;
    while let Ok(Some(out)) = tokio::time::timeout(Duration::from_secs(5), output.next()).await {
        if let Outbound::Close(code, _) = out {
            assert_eq!(code, CloseCode::Overflow);
            saw_close = true;
            break;
        }
    }
    assert!(saw_close);
}
