//! Changes to messages as events of the log: edits, deletes, reactions,
//! pins, roles and threads, and the state every later read serves.

use std::sync::Arc;

use parley_core::apply::{MAX_EMOJI, MAX_PINS};
use parley_core::command::{Appended, Change, Command};
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, Event, EventKind, MessageState, Reactions, Role};
use parley_core::parse::{Body, ClientMsgId, Page, PageLimit, Seq};
use parley_core::ports::Store;
use parley_core::ErrorCode;

use super::harness::{code_of, reply, Harness, Must};

fn change(channel: ChannelId, actor: UserId, client_msg_id: &str, change: Change) -> Command {
    let client_msg_id = ClientMsgId::parse(client_msg_id).must("a client_msg_id");
    Command::Change { channel, actor, client_msg_id, change, server_admin: false }
}

fn edit(target: Seq, body: &str) -> Change {
    Change::Edit { target, body: Body::parse(body).must("a body"), broadcast: Vec::new() }
}

fn react(target: Seq, emoji: &str, add: bool) -> Change {
    Change::React { target, emoji: Emoji::parse(emoji).must("an emoji"), add }
}

/// The one event a change stored.
fn stored(appended: Appended) -> Event {
    assert!(appended.created, "the change stored an event: {appended:?}");
    appended.events.into_iter().next().expect("one event")
}

/// A message as `reader` reads it back through the rules: body and state.
async fn read(h: &Harness, reader: UserId, channel: ChannelId, seq: Seq) -> (String, MessageState) {
    let limit = PageLimit::parse(Some(1)).must("a limit");
    let page = h.chat.events(reader, channel, Page::Around(seq, limit)).await.must("events around");
    match page.events.into_iter().find(|e| e.seq == seq).map(|e| e.kind) {
        Some(EventKind::Message { body, state, .. }) => (body, state),
        other => panic!("message {seq}: {other:?}"),
    }
}

/// Edits by the author only, a delete that removes the body from the message
/// and from its edits, and nothing done to a deleted message.
pub async fn changes_edit_then_delete(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "edits").await;
    h.join(channel.id, bob.id).await;
    let message = h.posted(channel.id, alice.id, "m1", "frist").await;
    let submit = |actor: UserId, id: &str, c: Change| h.sequencer.submit(change(channel.id, actor, id, c));

    let edited = stored(submit(alice.id, "e1", edit(message.seq, "first")).await.must("alice's edit"));
    assert_eq!(edited.kind.type_name(), "message_edited");
    let (body, state) = read(h, bob.id, channel.id, message.seq).await;
    assert_eq!((body.as_str(), state.edited_at), ("first", Some(edited.created_at)), "served edited");
    assert_eq!(state.changed_seq, edited.seq, "the state says which change it includes");
    assert_eq!(code_of(submit(bob.id, "e2", edit(message.seq, "mine")).await, "bob edits"), ErrorCode::Forbidden);
    let same = submit(alice.id, "e3", edit(message.seq, "first")).await.must("the same body again");
    assert!(!same.created && same.events.is_empty(), "an edit that changes nothing stores nothing");
    let retry = submit(alice.id, "e1", edit(message.seq, "first")).await.must("a retry");
    assert_eq!((retry.created, retry.events), (false, vec![edited.clone()]), "a retry gets the first event");
    let reused = submit(alice.id, "m1", edit(message.seq, "other")).await;
    assert_eq!(code_of(reused, "a message's key for an edit"), ErrorCode::Conflict);

    let deleted = stored(submit(alice.id, "d1", Change::Delete { target: message.seq }).await.must("delete"));
    assert_eq!(deleted.kind.type_name(), "message_deleted");
    let (body, state) = read(h, bob.id, channel.id, message.seq).await;
    assert_eq!((body.as_str(), state.deleted, state.changed_seq), ("", true, deleted.seq), "a tombstone");
    let log = h.log(channel.id).await;
    let edits: Vec<&EventKind> = log.iter().map(|e| &e.kind).filter(|k| k.type_name() == "message_edited").collect();
    assert!(
        matches!(edits.as_slice(), [EventKind::MessageEdited { body, .. }] if body.is_empty()),
        "the edit's text is gone too: {edits:?}"
    );
    for (id, c) in [("x1", edit(message.seq, "back")), ("x2", react(message.seq, "👍", true))] {
        assert_eq!(code_of(submit(alice.id, id, c).await, "change a deleted message"), ErrorCode::Conflict);
    }
    let answer = h.sequencer.submit(reply(channel.id, bob.id, "r1", "re", Some(message.seq))).await;
    assert_eq!(code_of(answer, "reply to a deleted message"), ErrorCode::Conflict);
    let again = submit(alice.id, "d2", Change::Delete { target: message.seq }).await.must("delete again");
    assert!(!again.created, "a second delete stores nothing");
    for missing in [1, 999] {
        let answer = submit(alice.id, &format!("n{missing}"), edit(missing, "x")).await;
        assert_eq!(code_of(answer, "edit what is not a message"), ErrorCode::NotFound, "seq {missing}");
    }
}

/// Reactions from several people in one batch; one per person, message and
/// emoji; at most [`MAX_EMOJI`] emoji on a message.
pub async fn changes_reactions(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let people = [h.user("alice").await, h.user("bob").await, h.user("carol").await];
    let channel = h.channel(&people[0], ChannelKind::Public, "reactions").await;
    for person in &people[1..] {
        h.join(channel.id, person.id).await;
    }
    let target = h.posted(channel.id, people[0].id, "m", "react to me").await.seq;
    let mut batch = Vec::new();
    for (i, person) in people.iter().enumerate() {
        batch.push(change(channel.id, person.id, &format!("up{i}"), react(target, "👍", true)));
        batch.push(change(channel.id, person.id, &format!("up{i}-again"), react(target, ":+1:", true)));
    }
    batch.push(change(channel.id, people[1].id, "party", react(target, "🎉", true)));
    batch.push(change(channel.id, people[2].id, "down", react(target, "👍", false)));
    let results: Vec<Appended> = h.in_one_batch(batch).await.into_iter().map(|r| r.must("a reaction")).collect();
    let created: Vec<bool> = results.iter().map(|a| a.created).collect();
    assert_eq!(created, [true, false, true, false, true, false, true, true], "a second 👍 by anyone stores nothing");

    let (_, state) = read(h, people[1].id, channel.id, target).await;
    let want = vec![
        Reactions { emoji: "👍".into(), count: 2, me: Some(true), users: vec![people[0].id, people[1].id] },
        Reactions { emoji: "🎉".into(), count: 1, me: Some(true), users: vec![people[1].id] },
    ];
    assert_eq!(state.reactions, want, "counted, in the order first added, with me and who");
    let (_, state) = read(h, people[2].id, channel.id, target).await;
    assert_eq!(state.reactions.iter().map(|r| r.me).collect::<Vec<_>>(), [Some(false), Some(false)]);
    let absent = h.sequencer.submit(change(channel.id, people[2].id, "gone", react(target, "🎉", false))).await;
    assert!(!absent.must("remove what is absent").created);

    let emoji =
        ["😀", "😂", "😍", "😎", "😢", "😡", "🙏", "👏", "🔥", "💯", "✅", "❌", "👀", "🚀", "🤔", "🙌", "💡", "⭐"];
    assert_eq!(emoji.len() + 2, MAX_EMOJI);
    let more = emoji
        .iter()
        .enumerate()
        .map(|(i, e)| change(channel.id, people[0].id, &format!("e{i}"), react(target, e, true)));
    for result in h.sequencer.submit_all(more.collect()).await {
        assert!(result.must("up to the limit").created);
    }
    let over = h.sequencer.submit(change(channel.id, people[1].id, "over", react(target, "🍕", true))).await;
    assert_eq!(code_of(over, "a 21st emoji"), ErrorCode::Conflict);
    let known = h.sequencer.submit(change(channel.id, people[1].id, "known", react(target, "🔥", true))).await;
    assert!(known.must("an emoji already on it").created, "one more person on an emoji there is fine");
}

/// Pins by any member, unpinning another's pin by owners and admins only,
/// roles set by the owner, and a DM where each deletes only their own.
pub async fn changes_pins_and_roles(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let (alice, bob, carol) = (h.user("alice").await, h.user("bob").await, h.user("carol").await);
    let channel = h.channel(&alice, ChannelKind::Public, "pins").await;
    h.join(channel.id, bob.id).await;
    h.join(channel.id, carol.id).await;
    let submit = |actor: UserId, id: &str, c: Change| h.sequencer.submit(change(channel.id, actor, id, c));
    let first = h.posted(channel.id, alice.id, "m1", "pin me").await.seq;
    let second = h.posted(channel.id, carol.id, "m2", "and me").await.seq;

    stored(submit(bob.id, "p1", Change::Pin { target: first, pin: true }).await.must("bob pins"));
    assert!(!submit(carol.id, "p2", Change::Pin { target: first, pin: true }).await.must("pinned again").created);
    stored(submit(carol.id, "p3", Change::Pin { target: second, pin: true }).await.must("carol pins"));
    let pins: Vec<Seq> = h.chat.pins(carol.id, channel.id).await.must("pins").iter().map(|e| e.seq).collect();
    assert_eq!(pins, [second, first], "the latest pinned first");
    assert!(read(h, alice.id, channel.id, first).await.1.pinned);
    let unpin = submit(carol.id, "u1", Change::Pin { target: first, pin: false }).await;
    assert_eq!(code_of(unpin, "carol unpins bob's pin"), ErrorCode::Forbidden);
    let delete = submit(carol.id, "d1", Change::Delete { target: first }).await;
    assert_eq!(code_of(delete, "carol deletes alice's message"), ErrorCode::Forbidden);

    let promote = |user: UserId, role: Role| Change::SetRole { user, role };
    assert_eq!(
        code_of(submit(bob.id, "r0", promote(carol.id, Role::Admin)).await, "bob sets a role"),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code_of(submit(alice.id, "r1", promote(carol.id, Role::Owner)).await, "a second owner"),
        ErrorCode::BadRequest
    );
    let promoted = stored(submit(alice.id, "r2", promote(carol.id, Role::Admin)).await.must("carol made admin"));
    assert!(matches!(promoted.kind, EventKind::MemberRoleChanged { role: Role::Admin, .. }));
    assert!(!submit(alice.id, "r3", promote(carol.id, Role::Admin)).await.must("admin again").created);
    let roles = h.store.members(channel.id).await.must("members");
    assert_eq!(roles.iter().find(|m| m.user.id == carol.id).map(|m| m.role), Some(Role::Admin));
    stored(submit(carol.id, "d2", Change::Delete { target: first }).await.must("the admin deletes bob's pin"));
    let pins: Vec<Seq> = h.chat.pins(bob.id, channel.id).await.must("pins").iter().map(|e| e.seq).collect();
    assert_eq!(pins, [second], "a deleted message is unpinned");
    let unpin = submit(bob.id, "u2", Change::Pin { target: second, pin: false }).await;
    assert_eq!(code_of(unpin, "bob unpins carol's pin"), ErrorCode::Forbidden);
    stored(submit(alice.id, "u3", Change::Pin { target: second, pin: false }).await.must("the owner unpins it"));

    let mut batch = Vec::new();
    for i in 0..=MAX_PINS {
        let seq = h.posted(channel.id, bob.id, &format!("many{i}"), "x").await.seq;
        batch.push(change(channel.id, bob.id, &format!("pin{i}"), Change::Pin { target: seq, pin: true }));
    }
    let results = h.sequencer.submit_all(batch).await;
    let refused: Vec<usize> = (0..results.len()).filter(|i| results[*i].is_err()).collect();
    assert_eq!(refused, [MAX_PINS as usize], "the pin past the limit of {MAX_PINS}, and only it");
    assert_eq!(code_of(results.into_iter().last().expect("a result"), "over the limit"), ErrorCode::Conflict);

    let dm = h.chat.open_dm(alice.id, &[bob.id]).await.must("a DM");
    let mine = h.posted(dm.id, bob.id, "dm1", "in private").await.seq;
    let theirs = h.sequencer.submit(change(dm.id, alice.id, "dd", Change::Delete { target: mine })).await;
    assert_eq!(code_of(theirs, "a DM has no admins"), ErrorCode::Forbidden);
    stored(h.sequencer.submit(change(dm.id, bob.id, "dd", Change::Delete { target: mine })).await.must("my own"));
}

/// A thread: replies to the root and to its replies, counted on the root,
/// paged, and uncounted when deleted.
pub async fn changes_threads(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "threads").await;
    let root = h.posted(channel.id, alice.id, "root", "a question").await.seq;
    let mut replies = Vec::new();
    for i in 0..5 {
        let to = replies.last().copied().unwrap_or(root);
        let answer = h.sequencer.submit(reply(channel.id, alice.id, &format!("r{i}"), "an answer", Some(to))).await;
        replies.push(stored(answer.must("a reply")).seq);
    }
    let (_, state) = read(h, alice.id, channel.id, root).await;
    assert_eq!(state.reply_count, 5, "replies to replies count on the root");
    let limit = PageLimit::parse(Some(3)).must("a limit");
    let thread = h.chat.thread(alice.id, channel.id, root, 0, limit).await.must("thread");
    assert_eq!(thread.root.seq, root);
    let seqs: Vec<Seq> = thread.replies.events.iter().map(|e| e.seq).collect();
    assert_eq!((seqs.as_slice(), thread.replies.has_more), (&replies[..3], true));
    let rest = h.chat.thread(alice.id, channel.id, root, replies[2], limit).await.must("the rest");
    assert_eq!(rest.replies.events.iter().map(|e| e.seq).collect::<Vec<_>>(), &replies[3..]);
    h.sequencer.submit(change(channel.id, alice.id, "del", Change::Delete { target: replies[0] })).await.must("delete");
    assert_eq!(read(h, alice.id, channel.id, root).await.1.reply_count, 4, "a deleted reply is not counted");
    let not_root = h.chat.thread(alice.id, channel.id, root + 1000, 0, limit).await;
    assert_eq!(code_of(not_root, "no such message"), ErrorCode::NotFound);
}
