//! The hub without sockets: sessions are their queues.

use super::*;
use parley_core::id::EventId;
use parley_core::model::EventKind;
use parley_core::parse::Seq;
use parley_core::time::Timestamp;

fn hub() -> Hub {
    Hub::new(Arc::new(Metrics::default()), SESSION_QUEUE, Arc::default())
}

fn presence_frames(queue: &mut mpsc::Receiver<Delivery>) -> usize {
    let mut count = 0;
    while let Ok(delivery) = queue.try_recv() {
        count += usize::from(matches!(&delivery, Delivery::Frame(frame) if frame.kind == "presence"));
    }
    count
}

#[test]
fn presence_is_pushed_in_small_channels_only() {
    let hub = hub();
    let (small, large) = (ChannelId::generate(), ChannelId::generate());
    let (_, mut first, _) = hub.register(UserId::generate(), "t".into(), &[small], &Shown::new());
    let (_, _, online) = hub.register(UserId::generate(), "t".into(), &[small], &Shown::new());
    assert_eq!(online.len(), 1, "a newcomer is told who is there");
    assert_eq!(presence_frames(&mut first), 1, "and they are told of the newcomer");

    let mut queues = Vec::new();
    for _ in 0..PRESENCE_MAX_SESSIONS {
        queues.push(hub.register(UserId::generate(), "t".into(), &[large], &Shown::new()).1);
    }
    for queue in &mut queues {
        presence_frames(queue);
    }
    let (_, _, online) = hub.register(UserId::generate(), "t".into(), &[large], &Shown::new());
    assert!(online.is_empty(), "past {PRESENCE_MAX_SESSIONS} sessions a channel carries no presence");
    assert!(queues.iter_mut().all(|queue| presence_frames(queue) == 0), "nobody is told of the newcomer");
}

/// The presence frames queued, as `(user, status)`; other deliveries are dropped.
fn told(queue: &mut mpsc::Receiver<Delivery>) -> Vec<(String, String)> {
    let mut told = Vec::new();
    while let Ok(delivery) = queue.try_recv() {
        if let Delivery::Frame(frame) = delivery {
            if frame.kind == "presence" {
                let json: serde_json::Value = serde_json::from_str(frame.text.as_str()).unwrap();
                told.push((json["user_id"].as_str().unwrap().into(), json["status"].as_str().unwrap().into()));
            }
        }
    }
    told
}

fn presence(user: UserId, status: &str) -> (String, String) {
    (user.to_string(), status.to_owned())
}

fn sent_by(sender: UserId, mut event: Event) -> Event {
    event.sender_id = sender;
    event
}

fn channel(id: ChannelId, kind: ChannelKind, created_by: UserId) -> Channel {
    let (name, created_at, dm_key) = (String::new(), Timestamp::now(), None);
    let topic = String::new();
    Channel { id, kind, name, topic, created_at, created_by, dm_key, last_seq: 0, member_count: 2, archived_at: None }
}

/// Mallory opened a DM with alice, who never wrote in it: mallory is not
/// told when alice comes or goes, bob (in a channel with her) is; once
/// alice writes in the DM, mallory is told she is online.
#[test]
fn a_dm_shows_who_opened_it_and_who_wrote_in_it() {
    let hub = hub();
    let (mallory, alice, bob) = (UserId::generate(), UserId::generate(), UserId::generate());
    let (room, dm) = (ChannelId::generate(), ChannelId::generate());
    let shown = Shown::from([(dm, HashSet::from([mallory]))]);
    let (_, mut m, online) = hub.register(mallory, "t".into(), &[dm], &shown);
    assert!(online.is_empty());
    let (_, mut b, _) = hub.register(bob, "t".into(), &[room], &Shown::new());

    let (a1, _a, online) = hub.register(alice, "t".into(), &[room, dm], &shown);
    assert_eq!(HashSet::<UserId>::from_iter(online), HashSet::from([mallory, bob]), "she sees the opener");
    assert_eq!(told(&mut b), [presence(alice, "online")]);
    assert!(told(&mut m).is_empty(), "an unanswered DM does not show alice to its opener");
    hub.unregister(a1.id);
    assert_eq!(told(&mut b), [presence(alice, "offline")]);
    assert!(told(&mut m).is_empty());

    let (a2, _a2, _) = hub.register(alice, "t".into(), &[room, dm], &shown);
    assert_eq!(told(&mut b), [presence(alice, "online")]);
    hub.typing(a2.id, alice, dm);
    assert!(m.try_recv().is_err(), "nor is her typing: it would tell she is online");
    hub.deliver(&[sent_by(alice, message(dm, 3))]);
    assert_eq!(told(&mut m), [presence(alice, "online")], "alice wrote: from now on the DM shows her");
    hub.deliver(&[sent_by(alice, message(dm, 4))]);
    assert!(told(&mut m).is_empty(), "told once");
    hub.typing(a2.id, alice, dm);
    assert!(matches!(m.try_recv(), Ok(Delivery::Frame(frame)) if frame.kind == "typing"));
}

/// A DM opened while its people are connected: its events do not say it
/// is a DM, so each member shows only once they send one of its events
/// (the opener adds everyone). A private channel two people join by
/// invite is learned from the store, and then shows them to each other.
#[test]
fn a_channel_new_here_shows_only_its_senders_until_learned() {
    let hub = hub();
    let (mallory, alice) = (UserId::generate(), UserId::generate());
    let (_, mut m, _) = hub.register(mallory, "t".into(), &[], &Shown::new());
    let (_, mut a, _) = hub.register(alice, "t".into(), &[], &Shown::new());
    let dm = ChannelId::generate();
    let joined = |user, seq| sent_by(mallory, event(dm, seq, EventKind::MemberJoined { user_id: user }));
    hub.deliver(&[joined(alice, 1), joined(mallory, 2)]);
    assert!(told(&mut a).contains(&presence(mallory, "online")), "the opener shows");
    assert!(told(&mut m).is_empty(), "alice does not, yet");
    hub.learned(&channel(dm, ChannelKind::Direct, mallory));
    assert!(told(&mut m).is_empty(), "nor once the DM is known as one");
    hub.deliver(&[sent_by(alice, message(dm, 3))]);
    assert_eq!(told(&mut m), [presence(alice, "online")]);

    let (den, owner) = (ChannelId::generate(), UserId::generate());
    let invited = |user, seq| sent_by(owner, event(den, seq, EventKind::MemberJoined { user_id: user }));
    hub.deliver(&[invited(alice, 5), invited(mallory, 6)]);
    assert!(told(&mut m).is_empty() && told(&mut a).is_empty(), "not known yet");
    hub.learned(&channel(den, ChannelKind::Private, owner));
    assert_eq!(told(&mut m), [presence(alice, "online")], "a private channel shows everyone");
    assert_eq!(told(&mut a), [presence(mallory, "online")]);
}

fn event(channel: ChannelId, seq: Seq, kind: EventKind) -> Event {
    Event {
        channel_id: channel,
        seq,
        id: EventId::generate(),
        sender_id: UserId::generate(),
        created_at: Timestamp::now(),
        kind,
    }
}

fn message(channel: ChannelId, seq: Seq) -> Event {
    let kind = EventKind::Message {
        body: "hi".into(),
        client_msg_id: seq.to_string(),
        reply_to_seq: None,
        mentions: Default::default(),
        state: Default::default(),
    };
    event(channel, seq, kind)
}

/// (channel, seq) of every event queued, in queue order.
fn events(queue: &mut mpsc::Receiver<Delivery>) -> Vec<(ChannelId, Seq)> {
    let mut events = Vec::new();
    while let Ok(delivery) = queue.try_recv() {
        if let Delivery::Event(frame) = delivery {
            events.push((frame.channel, frame.seq));
        }
    }
    events
}

#[test]
fn a_batch_reaches_each_session_channel_by_channel_and_a_join_starts_where_it_stands() {
    let hub = hub();
    let (a, b) = (ChannelId::generate(), ChannelId::generate());
    let joiner = UserId::generate();
    let (_, mut both, _) = hub.register(UserId::generate(), "t".into(), &[a, b], &Shown::new());
    let (_, mut joining, _) = hub.register(joiner, "t".into(), &[b], &Shown::new());
    let (_, mut joining_too, _) = hub.register(joiner, "t".into(), &[b], &Shown::new());
    events(&mut both);
    let batch = [
        message(a, 1),
        message(b, 1),
        event(a, 2, EventKind::MemberJoined { user_id: joiner }),
        message(b, 2),
        message(a, 3),
        event(b, 3, EventKind::MemberLeft { user_id: joiner }),
        message(b, 4),
        event(a, 4, EventKind::MemberLeft { user_id: joiner }),
        message(a, 5),
        event(a, 6, EventKind::MemberJoined { user_id: joiner }),
        event(a, 7, EventKind::MemberJoined { user_id: joiner }),
        message(a, 8),
    ];
    hub.deliver(&batch);
    assert_eq!(
        events(&mut both),
        [(a, 1), (a, 2), (a, 3), (a, 4), (a, 5), (a, 6), (a, 7), (a, 8), (b, 1), (b, 2), (b, 3), (b, 4)],
        "each channel's events in order, one channel's run after another's"
    );
    let expected = [(a, 2), (a, 3), (a, 4), (a, 6), (a, 7), (a, 8), (b, 1), (b, 2), (b, 3)];
    assert_eq!(
        events(&mut joining),
        expected,
        "a joiner gets each join and what follows it, a leaver its leave and nothing after"
    );
    assert_eq!(events(&mut joining_too), expected, "every session of the joiner alike");
}
