//! Concurrency: many writers through one Sequencer leave a log without holes or duplicates, seen once by `on_stored`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use parley_core::id::ChannelId;
use parley_core::model::{ChannelKind, Event, EventKind, User};
use parley_core::parse::Seq;
use parley_core::ports::Store;

use super::harness::{post, seqs, Harness};

const WRITERS: usize = 50;
const MESSAGES_EACH: usize = 20;

/// 50 writers appending 20 messages each to one channel at once end with
/// seq exactly 1..=N: no holes, no duplicates, and every acked seq stored
/// with the body and sender it was acked for.
pub async fn concurrent_writers_one_channel(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let owner = h.user("owner").await;
    let channel = h.channel(&owner, ChannelKind::Public, "busy").await;
    let writers = new_users(h, WRITERS).await;
    join_all_concurrently(h, channel.id, &writers).await;

    let tasks = writers.iter().enumerate().map(|(w, writer)| {
        let (sequencer, writer, channel) = (h.sequencer.clone(), writer.id, channel.id);
        tokio::spawn(async move {
            let mut acked = Vec::with_capacity(MESSAGES_EACH);
            for i in 0..MESSAGES_EACH {
                let body = format!("writer {w} message {i}");
                let appended = sequencer.submit(post(channel, writer, &format!("w{w}-{i}"), &body)).await;
                let appended = appended.unwrap_or_else(|e| panic!("writer {w} message {i}: {e}"));
                assert!(appended.created, "writer {w} message {i} is new");
                acked.push((appended.events[0].clone(), body));
            }
            acked
        })
    });
    let acked: Vec<(Event, String)> =
        futures::future::join_all(tasks).await.into_iter().flat_map(|t| t.expect("writer task")).collect();
    assert_eq!(acked.len(), WRITERS * MESSAGES_EACH);

    let log = h.log(channel.id).await;
    let total = 1 + WRITERS + WRITERS * MESSAGES_EACH;
    assert_eq!(seqs(&log), (1..=total as Seq).collect::<Vec<_>>(), "seq 1..=N, no holes, no duplicates");
    assert_eq!(h.load(channel.id).await.last_seq, total as Seq, "the head is the last seq");

    let mut acked_seqs = HashSet::new();
    for (event, body) in &acked {
        assert!(acked_seqs.insert(event.seq), "seq {} acked twice", event.seq);
        let stored = &log[(event.seq - 1) as usize];
        assert_eq!(stored, event, "the stored event is the acked one");
        match &stored.kind {
            EventKind::Message { body: stored_body, .. } => assert_eq!(stored_body, body, "seq {}", event.seq),
            other => panic!("seq {} should be a message, is {other:?}", event.seq),
        }
    }
    // Each writer awaited every ack, so its messages are in its own order.
    let mut by_writer: HashMap<_, Vec<Seq>> = HashMap::new();
    for (event, _) in &acked {
        by_writer.entry(event.sender_id).or_default().push(event.seq);
    }
    assert!(by_writer.values().all(|s| s.windows(2).all(|w| w[0] < w[1])), "one writer's messages keep their order");
    assert_seen_matches_log(h, &[channel.id]).await;
}

/// `on_stored` sees every new event exactly once, in seq order per channel,
/// before its sender is answered; retries and no-op joins show nothing.
pub async fn on_stored_sees_every_event_once(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let owner = h.user("owner").await;
    let mut channels = Vec::new();
    for name in ["one", "two", "three"] {
        channels.push(h.channel(&owner, ChannelKind::Public, name).await.id);
    }
    let writers = new_users(h, 10).await;
    for channel in &channels {
        join_all_concurrently(h, *channel, &writers).await;
    }

    let tasks = writers.iter().enumerate().map(|(w, writer)| {
        let (sequencer, writer, channels) = (h.sequencer.clone(), writer.id, channels.clone());
        let seen = h.seen_handle();
        tokio::spawn(async move {
            for i in 0..15 {
                let channel = channels[(w + i) % channels.len()];
                let command = post(channel, writer, &format!("w{w}-{i}"), "hello");
                let first = sequencer.submit(command.clone()).await.expect("post");
                let event = &first.events[0];
                let seen_now =
                    seen().iter().flatten().filter(|e| e.channel_id == channel && e.seq == event.seq).count();
                assert_eq!(seen_now, 1, "on_stored saw the event before its sender was answered");
                if i % 4 == 0 {
                    let retry = sequencer.submit(command).await.expect("retry");
                    assert!(!retry.created);
                }
                if i % 5 == 0 {
                    let rejoin = parley_core::command::Command::Join { channel, user: writer, actor: writer };
                    assert!(!sequencer.submit(rejoin).await.expect("join").created);
                }
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.expect("writer task");
    }
    assert_seen_matches_log(h, &channels).await;
}

async fn new_users(h: &Harness, count: usize) -> Vec<User> {
    let mut users = Vec::with_capacity(count);
    for i in 0..count {
        users.push(h.user(&format!("w{i}")).await);
    }
    users
}

/// Joins `users` to `channel` at once, through the Sequencer.
async fn join_all_concurrently(h: &Harness, channel: ChannelId, users: &[User]) {
    let joins = users.iter().map(|u| h.join(channel, u.id));
    assert!(futures::future::join_all(joins).await.iter().all(|a| a.created), "every join is new");
}

/// For each channel, `on_stored` saw exactly its log: every event once, in seq order.
async fn assert_seen_matches_log(h: &Harness, channels: &[ChannelId]) {
    let mut seen: BTreeMap<ChannelId, Vec<Event>> = BTreeMap::new();
    for event in h.seen().into_iter().flatten() {
        seen.entry(event.channel_id).or_default().push(event);
    }
    for channel in channels {
        let log = h.log(*channel).await;
        let saw = seen.remove(channel).unwrap_or_default();
        assert_eq!(saw.len(), log.len(), "on_stored saw each of the {} events once", log.len());
        assert!(saw == log, "on_stored saw the log's events, in seq order");
    }
}
