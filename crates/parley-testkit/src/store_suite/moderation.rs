//! Moderation as events of the log: a channel renamed, given a topic,
//! archived (read-only) and deleted; members removed and banned; and what
//! every later read serves of it.

use std::sync::Arc;

use parley_core::command::{Appended, Change, Command};
use parley_core::directory::DirectoryPage;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, EventKind, Role};
use parley_core::parse::{ChannelName, ClientMsgId, Page, PageLimit, Topic};
use parley_core::ports::Store;
use parley_core::{ErrorCode, Result};

use super::harness::{code_of, new_channel, Harness, Must};

fn moderate(channel: ChannelId, actor: UserId, key: &str, change: Change, server_admin: bool) -> Command {
    let client_msg_id = ClientMsgId::parse(key).must("a client_msg_id");
    Command::Change { channel, actor, client_msg_id, change, server_admin }
}

fn rename(name: &str) -> Change {
    Change::Rename { name: ChannelName::parse(name).must("a name") }
}

/// The one event a change stored, of type `kind`, sent by `by`.
fn stored(answer: Result<Appended>, kind: &str, by: UserId) -> EventKind {
    let appended = answer.must(kind);
    assert!(appended.created, "{kind}: stored an event: {appended:?}");
    let event = appended.events.into_iter().next().expect("one event");
    assert_eq!((event.kind.type_name(), event.sender_id), (kind, by), "{event:?}");
    event.kind
}

/// The owner renames a channel (its old name free again, a taken name
/// refused), sets its topic and archives it: read-only, out of the
/// directory, back once unarchived. A plain member may do none of it, nor
/// anyone in a DM; a retry stores nothing twice.
pub async fn moderation_rename_topic_archive(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "plans").await;
    let other = h.channel(&alice, ChannelKind::Private, "taken").await;
    h.join(channel.id, bob.id).await;
    let submit =
        |actor: UserId, key: &str, change: Change| h.sequencer.submit(moderate(channel.id, actor, key, change, false));

    let kind = stored(submit(alice.id, "r1", rename(&h.name("roadmap"))).await, "channel_renamed", alice.id);
    assert_eq!(kind, EventKind::ChannelRenamed { name: h.name("roadmap"), client_msg_id: "r1".into() });
    let retry = submit(alice.id, "r1", rename(&h.name("roadmap"))).await.must("a retry");
    assert!(!retry.created, "a retry stores nothing twice");
    assert_eq!(h.store.channel(channel.id).await.must("channel").map(|c| c.name), Some(h.name("roadmap")));
    let found = h.store.channel_named(&h.name("ROADMAP")).await.must("channel_named").map(|c| c.id);
    assert_eq!(found, Some(channel.id), "found by its new name");
    assert_eq!(h.store.channel_named(&h.name("plans")).await.must("channel_named"), None, "the old name is free");
    let reuse = new_channel(bob.id, ChannelKind::Public, &h.name("plans"));
    let created = h.sequencer.submit(Command::Create { channel: reuse, members: vec![(bob.id, Role::Owner)] }).await;
    assert!(created.must("the old name for a new channel").created);
    let taken = submit(alice.id, "r2", rename(&h.name("Taken"))).await;
    assert_eq!(code_of(taken, "a taken name"), ErrorCode::Conflict);
    assert_eq!(code_of(submit(bob.id, "r3", rename(&h.name("mine"))).await, "a member"), ErrorCode::Forbidden);

    let topic = Change::SetTopic { topic: Topic::parse("Q3 only").must("a topic") };
    stored(submit(alice.id, "t1", topic).await, "topic_changed", alice.id);
    assert_eq!(h.store.channel(channel.id).await.must("channel").map(|c| c.topic).as_deref(), Some("Q3 only"));

    stored(submit(alice.id, "a1", Change::Archive { archived: true }).await, "channel_archived", alice.id);
    let nothing = submit(alice.id, "a2", Change::Archive { archived: true }).await.must("archived again");
    assert!(!nothing.created && nothing.events.is_empty(), "archiving twice changes nothing");
    let archived = h.store.channel(channel.id).await.must("channel").expect("kept");
    assert!(archived.archived_at.is_some());
    assert_eq!(code_of(h.post(channel.id, bob.id, "m1", "hello?").await, "a post"), ErrorCode::Forbidden);
    let carol = h.user("carol").await;
    let join = h.sequencer.submit(Command::Join { channel: channel.id, user: carol.id, actor: carol.id }).await;
    assert_eq!(code_of(join, "a join"), ErrorCode::Forbidden);
    let page = DirectoryPage::parse(Some(&h.name("")), None, None).must("a page");
    let listed = h.store.directory(&page, 100).await.must("directory");
    assert!(listed.iter().all(|c| c.id != channel.id), "out of the directory");
    let every = h.store.directory(&page.of_every_channel(), 100).await.must("directory");
    assert!(every.iter().any(|c| c.id == channel.id && c.archived_at.is_some()), "in the admins' list");
    let latest = Page::Before(None, PageLimit::parse(Some(5)).must("a limit"));
    assert!(h.chat.events(bob.id, channel.id, latest).await.is_ok(), "still read by its members");

    stored(submit(alice.id, "a3", Change::Archive { archived: false }).await, "channel_unarchived", alice.id);
    h.posted(channel.id, bob.id, "m2", "back").await;

    let dm = h.chat.open_dm(alice.id, &[bob.id]).await.must("open_dm");
    let in_dm = h.sequencer.submit(moderate(dm.id, alice.id, "d1", rename("x"), false)).await;
    assert_eq!(code_of(in_dm, "renaming a DM"), ErrorCode::Forbidden);
    assert_eq!(h.store.channel(other.id).await.must("channel").map(|c| c.name), Some(h.name("taken")), "untouched");
}

/// The owner removes members and bans people (a ban removes a member, and
/// keeps them from joining until unbanned); an admin removes plain members
/// only; nobody removes the owner or themself.
pub async fn moderation_remove_and_ban(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let (owner, admin, bob) = (h.user("owner").await, h.user("admin").await, h.user("bob").await);
    let (carol, dave) = (h.user("carol").await, h.user("dave").await);
    let channel = h.channel(&owner, ChannelKind::Public, "club").await;
    for user in [&admin, &bob, &carol] {
        h.join(channel.id, user.id).await;
    }
    let submit =
        |actor: UserId, key: &str, change: Change| h.sequencer.submit(moderate(channel.id, actor, key, change, false));
    let role = Change::SetRole { user: admin.id, role: Role::Admin };
    submit(owner.id, "role", role).await.must("an admin");

    let kind = stored(submit(admin.id, "x1", Change::Remove { user: bob.id }).await, "member_removed", admin.id);
    assert_eq!(kind.member_gone(), Some(bob.id));
    let members: Vec<UserId> = h.store.members(channel.id).await.must("members").iter().map(|m| m.user.id).collect();
    assert!(!members.contains(&bob.id), "removed: {members:?}");
    assert!(h.store.my_channels(bob.id).await.must("my_channels").iter().all(|c| c.channel.id != channel.id));
    let gone = submit(admin.id, "x2", Change::Remove { user: bob.id }).await.must("a non-member");
    assert!(gone.events.is_empty(), "removing a non-member changes nothing");
    h.join(channel.id, bob.id).await;

    let refused = |actor: UserId, key: &'static str, change: Change| {
        let submit = &submit;
        async move { code_of(submit(actor, key, change).await, key) }
    };
    assert_eq!(refused(bob.id, "y1", Change::Remove { user: carol.id }).await, ErrorCode::Forbidden, "a member");
    assert_eq!(refused(admin.id, "y2", Change::Remove { user: owner.id }).await, ErrorCode::Forbidden, "the owner");
    assert_eq!(refused(owner.id, "y3", Change::Remove { user: owner.id }).await, ErrorCode::BadRequest, "oneself");
    let second = Change::SetRole { user: carol.id, role: Role::Admin };
    submit(owner.id, "role2", second).await.must("a second admin");
    assert_eq!(refused(admin.id, "y4", Change::Remove { user: carol.id }).await, ErrorCode::Forbidden, "an admin");
    stored(submit(owner.id, "x3", Change::Remove { user: carol.id }).await, "member_removed", owner.id);

    // A ban of a non-member keeps them out; of a member, takes them out.
    stored(submit(admin.id, "b1", Change::Ban { user: dave.id, banned: true }).await, "member_banned", admin.id);
    let join = h.sequencer.submit(Command::Join { channel: channel.id, user: dave.id, actor: dave.id }).await;
    assert_eq!(code_of(join, "a banned join"), ErrorCode::Forbidden);
    stored(submit(owner.id, "b2", Change::Ban { user: bob.id, banned: true }).await, "member_banned", owner.id);
    assert!(h.store.role(channel.id, bob.id).await.must("role").is_none(), "banned out");
    let again = submit(owner.id, "b3", Change::Ban { user: bob.id, banned: true }).await.must("banned again");
    assert!(again.events.is_empty(), "banning twice changes nothing");
    let banned: Vec<UserId> = h.store.bans(channel.id).await.must("bans").iter().map(|b| b.user.id).collect();
    assert_eq!(banned.len(), 2);
    assert!(banned.contains(&bob.id) && banned.contains(&dave.id));
    let by = h.store.bans(channel.id).await.must("bans").into_iter().find(|b| b.user.id == dave.id).map(|b| b.by);
    assert_eq!(by, Some(admin.id));

    stored(submit(owner.id, "u1", Change::Ban { user: dave.id, banned: false }).await, "member_unbanned", owner.id);
    h.join(channel.id, dave.id).await;
    assert!(h.store.role(channel.id, dave.id).await.must("role").is_some(), "in after the unban");
    let never = submit(owner.id, "u2", Change::Ban { user: carol.id, banned: false }).await.must("not banned");
    assert!(never.events.is_empty());
}

/// A server admin moderates a channel they are not in, and alone deletes
/// one: gone from every read, its members with it, its name free, nothing
/// more appended to it.
pub async fn moderation_server_admin_and_delete(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let root = h.user("root").await;
    let channel = h.channel(&alice, ChannelKind::Private, "secret").await;
    h.join(channel.id, bob.id).await;
    let submit = |actor: UserId, key: &str, change: Change, admin: bool| {
        h.sequencer.submit(moderate(channel.id, actor, key, change, admin))
    };

    let outsider = submit(root.id, "r0", rename(&h.name("renamed")), false).await;
    assert_eq!(code_of(outsider, "an outsider"), ErrorCode::Forbidden);
    stored(submit(root.id, "r1", rename(&h.name("renamed")), true).await, "channel_renamed", root.id);
    stored(submit(root.id, "x1", Change::Remove { user: bob.id }, true).await, "member_removed", root.id);
    assert_eq!(
        code_of(submit(root.id, "x2", Change::Remove { user: alice.id }, true).await, "the owner"),
        ErrorCode::Forbidden
    );

    let by_owner = submit(alice.id, "d0", Change::DeleteChannel, false).await;
    assert_eq!(code_of(by_owner, "the owner deleting"), ErrorCode::Forbidden, "a server admin's only");
    stored(submit(root.id, "d1", Change::DeleteChannel, true).await, "channel_deleted", root.id);
    assert_eq!(h.store.channel(channel.id).await.must("channel"), None, "gone");
    assert!(h.store.members(channel.id).await.must("members").is_empty(), "its members with it");
    assert!(h.store.my_channels(alice.id).await.must("my_channels").iter().all(|c| c.channel.id != channel.id));
    assert_eq!(code_of(h.post(channel.id, alice.id, "m1", "anyone?").await, "a post"), ErrorCode::NotFound);
    let again = submit(root.id, "d2", Change::DeleteChannel, true).await;
    assert_eq!(code_of(again, "deleting again"), ErrorCode::NotFound);
    let retry = submit(root.id, "d1", Change::DeleteChannel, true).await.must("a retry of the delete");
    assert_eq!(retry.events.first().map(|e| e.kind.type_name()), Some("channel_deleted"), "its first event");
    assert!(!retry.created);
    let reuse = new_channel(bob.id, ChannelKind::Public, &h.name("renamed"));
    let created = h.sequencer.submit(Command::Create { channel: reuse, members: vec![(bob.id, Role::Owner)] }).await;
    assert!(created.must("a deleted channel's name is free").created);
}

/// Whom someone blocks cannot write in a DM with them (one of two, or of a
/// group), and can again once unblocked; elsewhere nothing changes.
pub async fn blocks_refuse_dm_messages(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let (alice, bob, carol) = (h.user("alice").await, h.user("bob").await, h.user("carol").await);
    let pair = h.chat.open_dm(alice.id, &[bob.id]).await.must("a DM");
    let group = h.chat.open_dm(carol.id, &[alice.id, bob.id]).await.must("a group DM");
    let room = h.channel(&alice, ChannelKind::Public, "room").await;
    h.join(room.id, bob.id).await;

    h.store.set_blocked(alice.id, bob.id, Some(parley_core::time::Timestamp::now())).await.must("block");
    h.store.set_blocked(alice.id, bob.id, Some(parley_core::time::Timestamp::now())).await.must("block twice");
    let blocked: Vec<UserId> = h.store.blocked(alice.id).await.must("blocked").iter().map(|u| u.id).collect();
    assert_eq!(blocked, [bob.id]);
    assert!(h.store.blocked(bob.id).await.must("blocked").is_empty(), "one way");
    assert_eq!(code_of(h.post(pair.id, bob.id, "b1", "hi").await, "into the DM"), ErrorCode::Forbidden);
    assert_eq!(code_of(h.post(group.id, bob.id, "b2", "hi all").await, "into the group"), ErrorCode::Forbidden);
    h.posted(pair.id, alice.id, "a1", "I can still write").await;
    h.posted(group.id, carol.id, "c1", "so can carol").await;
    h.posted(room.id, bob.id, "b3", "a channel is not a DM").await;

    h.store.set_blocked(alice.id, bob.id, None).await.must("unblock");
    h.posted(pair.id, bob.id, "b4", "thanks").await;
    assert!(h.store.blocked(alice.id).await.must("blocked").is_empty());
}
