//! Mentions: whom a message tells, decided where it is stored; each
//! member's unread mention count beside their unread count, cleared by their
//! read marker; the list of my mentions; edits, deletes, DMs, and the
//! `@channel` rule of a large channel.

use std::sync::Arc;

use parley_core::chat::BROADCAST_MEMBERS;
use parley_core::command::{Change, Command};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, Event, EventKind, Mentions};
use parley_core::parse::{Body, ClientMsgId, Seq};
use parley_core::ports::Store;
use parley_core::writer::Answer;
use parley_core::ErrorCode;

use super::harness::{code_of, Harness, Must};

/// `user`'s `(unread_count, mention_count)` in `channel`.
async fn counts(h: &Harness, user: UserId, channel: ChannelId) -> (i64, i64) {
    let mine = h.store.my_channels(user).await.must("my_channels");
    let listed = mine.into_iter().find(|c| c.channel.id == channel).expect("a member lists the channel");
    (listed.unread_count, listed.mention_count)
}

/// The seqs of `user`'s newest mentions, with the channel of each.
async fn mentioned(h: &Harness, user: UserId) -> Vec<(ChannelId, Seq)> {
    let events = h.store.mentions(user, None, 50).await.must("mentions");
    events.iter().map(|e| (e.channel_id, e.seq)).collect()
}

fn mentions_of(event: &Event) -> Mentions {
    match &event.kind {
        EventKind::Message { mentions, .. } | EventKind::MessageEdited { mentions, .. } => mentions.clone(),
        other => panic!("not a message or an edit: {other:?}"),
    }
}

fn edit(channel: ChannelId, actor: UserId, id: &str, target: Seq, body: &str) -> Command {
    let client_msg_id = ClientMsgId::parse(id).must("a client_msg_id");
    let change = Change::Edit { target, body: Body::parse(body).must("a body"), broadcast: Vec::new() };
    Command::Change { channel, actor, client_msg_id, change, server_admin: false }
}

/// A name mentions the member who has it, in any case and beside
/// punctuation; not a user who is not a member, not an unknown name, not an
/// address, not the author; the event says whom, each member's count and
/// list say it once, and reading past it clears the count.
pub async fn mentions_named_members_told(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let channel = h.channel(&alice, ChannelKind::Public, "mentions").await;
    h.join(channel.id, bob.id).await;
    h.join(channel.id, dave.id).await;
    h.leave(channel.id, dave.id).await;
    let (b, c, d, a) =
        (bob.username.as_str(), carol.username.as_str(), dave.username.as_str(), alice.username.as_str());
    let body = format!(
        "hey @{}, and (@{b}) — ask @{c} or @{d} or @nobody_here; mail {b}@example.com; `@{b}` me @{a}.",
        b.to_uppercase()
    );
    let message = h.posted(channel.id, alice.id, "m1", &body).await;
    let told = Mentions { users: vec![bob.id, alice.id], channel: false, here: false };
    assert_eq!(mentions_of(&message), told, "bob once, and alice as she wrote it; carol and dave are not members");
    let read = h.store.events_after(channel.id, message.seq - 1, 1).await.must("events_after");
    assert_eq!(mentions_of(&read[0]), told, "stored with the message");

    assert_eq!(counts(h, bob.id, channel.id).await, (1, 1), "bob: one unread, one mention");
    assert_eq!(counts(h, alice.id, channel.id).await, (0, 0), "her own mention of herself tells nobody");
    assert_eq!(mentioned(h, bob.id).await, [(channel.id, message.seq)]);
    assert!(mentioned(h, carol.id).await.is_empty(), "not a member: not told");
    assert!(mentioned(h, alice.id).await.is_empty());

    let plain = h.posted(channel.id, alice.id, "m2", "no one here").await;
    assert_eq!(counts(h, bob.id, channel.id).await, (2, 1));
    let marker = h.store.mark_read(channel.id, bob.id, message.seq).await.must("mark_read").expect("moved");
    assert_eq!((marker.unread_count, marker.mention_count), (1, 0), "read past the mention");
    assert_eq!(counts(h, bob.id, channel.id).await, (1, 0));
    assert_eq!(mentioned(h, bob.id).await, [(channel.id, message.seq)], "a read mention is still listed");
    h.store.mark_read(channel.id, bob.id, plain.seq).await.must("mark_read");

    // Newest first, paged by the message's id; a channel left is not listed.
    let second = h.posted(channel.id, alice.id, "m3", &format!("@{b} again")).await;
    let other = h.channel(&alice, ChannelKind::Private, "elsewhere").await;
    h.join(other.id, bob.id).await;
    let third = h.posted(other.id, alice.id, "m4", &format!("@{b} over here")).await;
    let newest = vec![(other.id, third.seq), (channel.id, second.seq), (channel.id, message.seq)];
    assert_eq!(mentioned(h, bob.id).await, newest);
    let page = h.store.mentions(bob.id, Some(third.id), 1).await.must("mentions before");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [second.seq], "before the third, one");
    h.leave(other.id, bob.id).await;
    assert_eq!(mentioned(h, bob.id).await, newest[1..], "a channel bob left is not listed");
}

/// An edit tells whom its new body mentions instead; a delete takes the
/// message's mentions away; `@channel` reaches the members the gateway
/// found that are members still.
pub async fn mentions_follow_edits_and_deletes(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let outsider = h.user("outsider").await;
    let channel = h.channel(&alice, ChannelKind::Private, "edited").await;
    h.join(channel.id, bob.id).await;
    h.join(channel.id, carol.id).await;
    let (b, c) = (bob.username.as_str(), carol.username.as_str());
    let message = h.posted(channel.id, alice.id, "m1", &format!("for @{b}")).await;
    assert_eq!(counts(h, bob.id, channel.id).await.1, 1);

    let edited = h.sequencer.submit(edit(channel.id, alice.id, "e1", message.seq, &format!("for @{c}"))).await;
    let edited = edited.must("edit").events.into_iter().next().expect("an edit event");
    assert_eq!(mentions_of(&edited).users, [carol.id], "the edit's event carries the new mentions");
    assert_eq!((counts(h, bob.id, channel.id).await.1, counts(h, carol.id, channel.id).await.1), (0, 1));
    let read = h.store.events_after(channel.id, message.seq - 1, 1).await.must("events_after");
    assert_eq!(mentions_of(&read[0]).users, [carol.id], "the message's state has them too");

    let everyone = Command::Post {
        channel: channel.id,
        sender: alice.id,
        client_msg_id: ClientMsgId::parse("m2").must("id"),
        body: Body::parse("@channel lunch").must("body"),
        reply_to_seq: None,
        broadcast: vec![bob.id, carol.id, outsider.id],
    };
    let lunch = h.sequencer.submit(everyone).await.must("post").events.into_iter().next().expect("an event");
    assert_eq!(mentions_of(&lunch), Mentions { users: vec![], channel: true, here: false });
    assert_eq!((counts(h, bob.id, channel.id).await.1, counts(h, carol.id, channel.id).await.1), (1, 2));
    assert!(mentioned(h, outsider.id).await.is_empty(), "not a member: not told");

    let delete = Command::Change {
        channel: channel.id,
        actor: alice.id,
        client_msg_id: ClientMsgId::parse("d1").must("id"),
        change: Change::Delete { target: lunch.seq },
        server_admin: false,
    };
    h.sequencer.submit(delete).await.must("delete");
    assert_eq!((counts(h, bob.id, channel.id).await.1, counts(h, carol.id, channel.id).await.1), (0, 1));
    assert_eq!(mentioned(h, carol.id).await, [(channel.id, message.seq)], "a deleted message mentions nobody");
    let read = h.store.events_after(channel.id, lunch.seq - 1, 1).await.must("events_after");
    assert_eq!(mentions_of(&read[0]), Mentions::default(), "nor does its tombstone say whom it did");
}

/// In a DM every message from the other person is a mention of me; in a
/// channel of more than [`BROADCAST_MEMBERS`] members only the owner and
/// admins may say `@channel` or `@here`, and the writer is never asked.
pub async fn mentions_dms_and_large_channels(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let dm = h.chat.open_dm(alice.id, &[bob.id]).await.must("open_dm");
    h.posted(dm.id, alice.id, "m1", "hi").await;
    h.posted(dm.id, alice.id, "m2", "there").await;
    assert_eq!(counts(h, bob.id, dm.id).await, (2, 2), "each DM message is for bob");
    let marker = h.store.mark_read(dm.id, bob.id, 3).await.must("mark_read").expect("moved");
    assert_eq!((marker.unread_count, marker.mention_count), (1, 1));

    let large = h.channel(&alice, ChannelKind::Public, "large").await;
    let mut members = Vec::new();
    for n in 0..BROADCAST_MEMBERS {
        let member = h.user(&format!("m{n}")).await;
        h.join(large.id, member.id).await;
        members.push(member);
    }
    let post = |who: UserId, id: &str, body: &str| {
        let (id, body) = (ClientMsgId::parse(id).must("id"), Body::parse(body).must("body"));
        h.chat.post(who, large.id, id, body, None, Answer::Stored)
    };
    let member = members[0].id;
    let refused = post(member, "c1", "@channel look").await;
    assert_eq!(code_of(refused, "a member's @channel in a large channel"), ErrorCode::Forbidden);
    assert_eq!(code_of(post(member, "c2", "@here look").await, "@here"), ErrorCode::Forbidden);
    let log = h.store.events_after(large.id, 0, 500).await.must("log");
    assert!(!log.iter().any(|e| e.sender_id == member && e.kind.type_name() == "message"), "nothing was stored");
    post(member, "c3", &format!("only @{}", alice.username.as_str())).await.must("a name is always allowed");
    post(alice.id, "c4", "@channel from the owner").await.must("the owner may");
    assert_eq!(counts(h, members[1].id, large.id).await.1, 1, "and it reaches every member");
    assert_eq!(counts(h, alice.id, large.id).await.1, 1, "the owner was named once, not told of her own");
}
