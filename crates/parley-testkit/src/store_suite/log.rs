//! The event log through the Sequencer: numbering, paging at the edges, dedupe, membership at append, replies.

use std::sync::Arc;

use parley_core::command::{Appended, Command};
use parley_core::feed::{EventFeed, LocalFeed};
use parley_core::model::{ChannelKind, Event, EventKind, Role};
use parley_core::parse::Seq;
use parley_core::ports::{PostKey, Store};
use parley_core::processor::{process, Processed};
use parley_core::writer::Answer;
use parley_core::ErrorCode;

use super::harness::{code_of, post, reply, seqs, Harness, Must};

/// Seqs run 1..=N without holes, events read back exactly as acked, and
/// `events_after` / `events_before` are exact at every edge.
pub async fn log_seq_and_paging(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "history").await;
    let mut acked: Vec<Event> = h.log(channel.id).await;
    acked.extend(h.join(channel.id, bob.id).await.events);
    for i in 3..=30 {
        let sender = if i % 3 == 0 { &bob } else { &alice };
        let body = format!("message {i}: ünïcode 😀\nsecond line\ttab");
        acked.push(h.posted(channel.id, sender.id, &format!("m{i}"), &body).await);
    }
    let reply = h.sequencer.submit(reply(channel.id, bob.id, "reply", "a reply", Some(7))).await.must("reply");
    acked.extend(reply.events);
    // The root of the thread as any later read sees it.
    let replied_at = acked[30].created_at;
    if let EventKind::Message { state, .. } = &mut acked[6].kind {
        (state.reply_count, state.last_reply_at, state.changed_seq) = (1, Some(replied_at), 31);
    }
    let last: Seq = 31;
    assert_eq!(seqs(&acked), (1..=last).collect::<Vec<_>>(), "acked seqs run 1..=31");
    assert_eq!(h.load(channel.id).await.last_seq, last);

    let after = |after: Seq, limit: u32| async move {
        h.store.events_after(channel.id, after, limit).await.must("events_after")
    };
    let before = |before: Option<Seq>, limit: u32| async move {
        h.store.events_before(channel.id, before, limit).await.must("events_before")
    };
    let range = |from: Seq, to: Seq| acked[(from - 1) as usize..to as usize].to_vec();

    assert_eq!(after(0, 1000).await, acked, "everything, exactly as acked");
    assert_eq!(after(0, 10).await, range(1, 10), "after=0: from the first");
    assert_eq!(after(5, 3).await, range(6, 8));
    assert_eq!(after(last - 1, 10).await, range(last, last), "only the last");
    assert_eq!(after(last, 10).await, [], "after=last: nothing");
    assert_eq!(after(last + 5, 10).await, [], "after beyond the head: nothing");
    assert_eq!(before(None, 5).await, range(last - 4, last), "before=None: the newest, oldest first");
    assert_eq!(before(None, 1000).await, acked, "before=None with room: everything");
    assert_eq!(before(Some(10), 3).await, range(7, 9));
    assert_eq!(before(Some(4), 10).await, range(1, 3), "fewer than limit before");
    assert_eq!(before(Some(2), 10).await, range(1, 1));
    assert_eq!(before(Some(1), 10).await, [], "before=1: nothing");
    assert_eq!(before(Some(last + 1), 2).await, range(last - 1, last), "before=last+1: the newest");
    assert_eq!(before(Some(last + 100), 2).await, range(last - 1, last), "before beyond the head");
    match &acked[(last - 1) as usize].kind {
        EventKind::Message { reply_to_seq, .. } => assert_eq!(*reply_to_seq, Some(7), "reply_to_seq stored"),
        other => panic!("expected the reply, found {other:?}"),
    }
}

/// Each channel has its own numbering, and reads never mix channels.
pub async fn log_channels_kept_apart(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let one = h.channel(&alice, ChannelKind::Public, "one").await;
    let two = h.channel(&alice, ChannelKind::Private, "two").await;
    for i in 0..10 {
        let channel = if i % 3 == 0 { &two } else { &one };
        h.posted(channel.id, alice.id, &format!("m{i}"), "hi").await;
    }
    let (log_one, log_two) = (h.log(one.id).await, h.log(two.id).await);
    assert_eq!(seqs(&log_one), (1..=7).collect::<Vec<_>>());
    assert_eq!(seqs(&log_two), (1..=5).collect::<Vec<_>>());
    assert!(log_one.iter().all(|e| e.channel_id == one.id) && log_two.iter().all(|e| e.channel_id == two.id));
    assert_eq!((h.load(one.id).await.last_seq, h.load(two.id).await.last_seq), (7, 5));
    let newest = h.store.events_before(two.id, None, 2).await.must("events_before");
    assert_eq!(newest, log_two[3..], "the other channel's newer events do not count");
    let unknown = parley_core::id::ChannelId::generate();
    assert_eq!(h.store.events_after(unknown, 0, 10).await.must("events_after"), [], "unknown channel: empty");
}

/// A retried `client_msg_id` returns the first event, stores nothing, and
/// leaves the head where it was, even with another body.
pub async fn dedupe_retry_returns_first(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "retries").await;
    let first = h.posted(channel.id, alice.id, "same", "first body").await;
    h.posted(channel.id, alice.id, "other", "in between").await;

    for body in ["first body", "second body"] {
        let retry = h.post(channel.id, alice.id, "same", body).await.must("retry");
        assert!(!retry.created, "a retry creates nothing");
        assert_eq!(retry.events, std::slice::from_ref(&first), "a retry returns the first event");
    }
    let via_chat = h
        .chat
        .post(alice.id, channel.id, cmid("same"), body("third"), None, Answer::Stored)
        .await
        .must("chat retry")
        .stored()
        .expect("stored: no command log");
    assert!(!via_chat.created);
    assert_eq!(via_chat.event, first);

    assert_eq!(h.load(channel.id).await.last_seq, 3, "the head did not move");
    let log = h.log(channel.id).await;
    assert_eq!(seqs(&log), [1, 2, 3]);
    assert_eq!(log[1], first, "one row for the key");
}

/// The dedupe key is (channel, sender, client_msg_id): the same id from
/// another sender or in another channel is a new message.
pub async fn dedupe_key_is_channel_sender_and_id(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let one = h.channel(&alice, ChannelKind::Public, "one").await;
    let two = h.channel(&alice, ChannelKind::Public, "two").await;
    h.join(one.id, bob.id).await;

    let a1 = h.posted(one.id, alice.id, "shared-id", "alice in one").await;
    let b1 = h.posted(one.id, bob.id, "shared-id", "bob in one").await;
    let a2 = h.posted(two.id, alice.id, "shared-id", "alice in two").await;
    assert_eq!((a1.seq, b1.seq, a2.seq), (3, 4, 2));
    assert_ne!(a1.id, b1.id);
    let retry = h.post(one.id, bob.id, "shared-id", "again").await.must("retry");
    assert_eq!((retry.created, retry.events), (false, vec![b1.clone()]), "each key finds its own event");
    let stored = |channel_id, sender_id, client_msg_id| async move {
        h.store.stored_post(&PostKey { channel_id, sender_id, client_msg_id }).await.must("stored_post")
    };
    assert_eq!(stored(one.id, alice.id, "shared-id").await.as_ref(), Some(&a1), "stored_post too");
    assert_eq!(stored(two.id, alice.id, "shared-id").await.as_ref(), Some(&a2));
    assert_eq!(stored(two.id, bob.id, "shared-id").await, None, "bob never posted in two");
    assert_eq!(stored(one.id, bob.id, "other-id").await, None);
    assert_eq!(h.log(one.id).await[2..], [a1, b1]);
    assert_eq!(h.log(two.id).await[1..], [a2]);
}

/// Many copies of one message in one batch store one event; every caller
/// gets that event and exactly one of them `created`.
pub async fn dedupe_within_one_batch(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "batch").await;
    h.join(channel.id, bob.id).await;

    let mut commands: Vec<Command> = (0..20).map(|_| post(channel.id, alice.id, "dup", "once")).collect();
    commands.push(post(channel.id, bob.id, "dup", "bob's own"));
    commands.push(post(channel.id, alice.id, "not-dup", "another"));
    let results: Vec<_> = h.in_one_batch(commands).await.into_iter().map(|r| r.must("post in one batch")).collect();

    let first = results[0].events[0].clone();
    assert!(results[0].created, "the first copy creates the message");
    for copy in &results[1..20] {
        assert_eq!((copy.created, &copy.events), (false, &vec![first.clone()]), "later copies return it");
    }
    assert!(results[20].created && results[21].created, "other keys in the batch are new messages");
    assert_eq!((first.seq, results[20].events[0].seq, results[21].events[0].seq), (3, 4, 5));
    assert_eq!(h.log(channel.id).await[2..], [first, results[20].events[0].clone(), results[21].events[0].clone()]);
}

fn cmid(raw: &str) -> parley_core::parse::ClientMsgId {
    parley_core::parse::ClientMsgId::parse(raw).expect("valid")
}

fn body(raw: &str) -> parley_core::parse::Body {
    parley_core::parse::Body::parse(raw).expect("valid")
}

/// The Sequencer checks membership as of its point in the log, not the
/// caller's: non-members and those who left are `Forbidden`, unknown
/// channels `NotFound`.
pub async fn membership_rechecked_at_append(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "members only").await;
    let unknown = parley_core::id::ChannelId::generate();

    let code = |r| code_of(r, "post");
    assert_eq!(code(h.post(channel.id, bob.id, "b0", "hi").await), ErrorCode::Forbidden, "not a member");
    let via_chat = h.chat.post(bob.id, channel.id, cmid("b0"), body("hi"), None, Answer::Stored).await;
    assert_eq!(code_of(via_chat, "chat post"), ErrorCode::Forbidden, "public but not joined");
    assert_eq!(code(h.post(unknown, alice.id, "a0", "hi").await), ErrorCode::NotFound, "unknown channel");

    h.join(channel.id, bob.id).await;
    h.posted(channel.id, bob.id, "b1", "now I may").await;
    h.leave(channel.id, bob.id).await;
    assert_eq!(code(h.post(channel.id, bob.id, "b2", "still here?").await), ErrorCode::Forbidden, "left");
    h.join(channel.id, bob.id).await;
    h.posted(channel.id, bob.id, "b3", "back").await;
    assert_eq!(seqs(&h.log(channel.id).await), [1, 2, 3, 4, 5, 6], "refusals append nothing");
}

/// Within one batch, each command sees the membership the earlier ones left.
pub async fn membership_within_one_batch(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let channel = h.channel(&alice, ChannelKind::Public, "batch").await;
    h.join(channel.id, bob.id).await; // seq 2
    let id = channel.id;

    let results = h
        .in_one_batch(vec![
            post(id, carol.id, "c1", "too early"),
            Command::Join { channel: id, user: carol.id, actor: carol.id },
            post(id, carol.id, "c2", "joined"),
            Command::Leave { channel: id, user: bob.id, actor: bob.id },
            post(id, bob.id, "b1", "too late"),
        ])
        .await;
    let codes: Vec<Option<ErrorCode>> = results.iter().map(|r| r.as_ref().err().map(|e| e.code)).collect();
    assert_eq!(codes, [Some(ErrorCode::Forbidden), None, None, None, Some(ErrorCode::Forbidden)]);
    let log = h.log(id).await;
    assert_eq!(seqs(&log), [1, 2, 3, 4, 5], "one event per accepted command");
    assert_eq!(log[2].kind, EventKind::MemberJoined { user_id: carol.id });
    assert_eq!(log[3].sender_id, carol.id);
    assert_eq!(log[4].kind, EventKind::MemberLeft { user_id: bob.id });
    assert_eq!(h.store.role(id, bob.id).await.must("role"), None);
    assert_eq!(h.load(id).await.member_count, 2);

    // Leaving and coming back, and the reverse, in one batch: changes apply in order.
    let results = h
        .in_one_batch(vec![
            Command::Leave { channel: id, user: carol.id, actor: carol.id },
            Command::Join { channel: id, user: carol.id, actor: carol.id },
            Command::Join { channel: id, user: bob.id, actor: bob.id },
            Command::Leave { channel: id, user: bob.id, actor: bob.id },
        ])
        .await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|a| a.created)), "each changes membership: {results:?}");
    assert_eq!(h.store.role(id, carol.id).await.must("role"), Some(Role::Member), "left, then back");
    assert_eq!(h.store.role(id, bob.id).await.must("role"), None, "back, then left");
    let channel = h.load(id).await;
    assert_eq!((channel.member_count, channel.last_seq), (2, 9));
}

/// `reply_to_seq` must name an event already in the channel.
pub async fn reply_to_out_of_range(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "replies").await;
    h.posted(channel.id, alice.id, "m2", "two").await;
    let reply_to = |id: &str, to: Seq| h.sequencer.submit(reply(channel.id, alice.id, id, "re", Some(to)));

    // 1 is alice's member_joined: a reply points at a message.
    for bad in [-1, 0, 1, 3, 1000] {
        assert_eq!(
            code_of(reply_to(&format!("bad{bad}"), bad).await, "reply"),
            ErrorCode::BadRequest,
            "reply_to_seq {bad}"
        );
    }
    let first = reply_to("ok2", 2).await.must("reply to the message");
    assert_eq!(reply_seq(&first), Some(2));
    let second = reply_to("ok3", 3).await.must("reply to the reply");
    assert_eq!(reply_seq(&second), Some(2), "a reply to a reply joins the root's thread");
    assert_eq!(h.load(channel.id).await.last_seq, 4, "refused replies append nothing");
}

/// Cluster mode's processor step over this store: commands in, events stored
/// and published on a feed in seq order; a retry publishes the event first
/// stored; a command the rules refuse is dropped and counted; the same step
/// run again (a crash before the offset commit) stores nothing twice.
pub async fn processor_stores_and_publishes(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let eve = h.user("eve").await;
    let channel = h.channel(&alice, ChannelKind::Public, "processed").await;
    let first = h.posted(channel.id, alice.id, "p0", "stored before").await;
    let feed = LocalFeed::default();
    let mut subscription = feed.subscribe().await.must("subscribe");
    let commands = || {
        vec![
            post(channel.id, alice.id, "p1", "one"),
            post(channel.id, eve.id, "e1", "eve is no member"),
            post(channel.id, alice.id, "p0", "a retry"),
            post(channel.id, alice.id, "p2", "two"),
        ]
    };
    let body = |e: &Event| match &e.kind {
        EventKind::Message { body, .. } => body.clone(),
        other => panic!("not a message: {other:?}"),
    };
    for round in ["first", "again"] {
        let done = process(&h.sequencer, &feed, commands()).await.must(round);
        assert_eq!(done, Processed { published: 3, refused: 1 }, "{round}");
        let batch = subscription.next().await.must("a published batch");
        let published: Vec<(Seq, String)> = batch.iter().map(|e| (e.seq, body(e))).collect();
        let expected = [(first.seq, "stored before"), (first.seq + 1, "one"), (first.seq + 2, "two")];
        assert_eq!(published, expected.map(|(s, b)| (s, b.to_owned())), "{round}");
    }
    assert_eq!(h.log(channel.id).await.len() as Seq, first.seq + 2, "nothing stored twice");
}

fn reply_seq(appended: &Appended) -> Option<Seq> {
    match appended.events.first().map(|e| &e.kind) {
        Some(EventKind::Message { reply_to_seq, .. }) => *reply_to_seq,
        _ => None,
    }
}
