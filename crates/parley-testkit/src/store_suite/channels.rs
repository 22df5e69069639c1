//! Checks of channels: creation, roles, member counts and order, my channels with read markers, the public list.

use std::sync::Arc;

use parley_core::command::{Change, Command};
use parley_core::directory::DirectoryPage;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, EventKind, MyChannel, Notify, Preferences, ReadMarker, Role};
use parley_core::parse::{ChannelName, ClientMsgId, Topic};
use parley_core::ports::Store;

use super::harness::{new_channel, seqs, Harness, Must};

/// `Command::Create` stores the channel as given, its owner with role `owner`,
/// and one `member_joined` event per first member.
pub async fn channels_create_with_owner(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;

    let channel = new_channel(alice.id, ChannelKind::Public, &h.name("general"));
    let command = Command::Create { channel: channel.clone(), members: vec![(alice.id, Role::Owner)] };
    let appended = h.sequencer.submit(command).await.must("create");
    assert!(appended.created);
    assert_eq!(appended.channel_id, channel.id);
    assert_eq!(seqs(&appended.events), [1]);
    assert_eq!(appended.events[0].kind, EventKind::MemberJoined { user_id: alice.id });
    assert_eq!(appended.events[0].sender_id, alice.id, "the creator adds the first members");

    let stored = h.load(channel.id).await;
    assert_eq!(stored, Channel { last_seq: 1, member_count: 1, ..channel.clone() }, "stored as given");
    assert_eq!(h.log(channel.id).await, appended.events, "the log holds the join");
    assert_eq!(h.store.role(channel.id, alice.id).await.must("role"), Some(Role::Owner));
    assert_eq!(h.store.role(channel.id, bob.id).await.must("role"), None, "not a member");
    assert_eq!(h.store.channel(ChannelId::generate()).await.must("channel"), None, "unknown channel");
    assert_eq!(h.store.role(ChannelId::generate(), alice.id).await.must("role"), None, "unknown channel");

    // Several first members, through the Sequencer.
    let team = new_channel(alice.id, ChannelKind::Private, &h.name("team"));
    let members = vec![(alice.id, Role::Owner), (bob.id, Role::Member)];
    let appended = h.sequencer.submit(Command::Create { channel: team.clone(), members }).await.must("create");
    assert_eq!(seqs(&appended.events), [1, 2]);
    assert_eq!(h.load(team.id).await, Channel { last_seq: 2, member_count: 2, ..team.clone() });
    assert_eq!(h.store.role(team.id, bob.id).await.must("role"), Some(Role::Member));

    // Through Chat, as the server does it.
    let name = ChannelName::parse(&h.name("chat made")).expect("valid");
    let topic = Topic::parse("a topic").expect("valid");
    let made = h.chat.create_channel(bob.id, name, ChannelKind::Private, Some(topic)).await.must("create_channel");
    assert_eq!((made.kind, made.topic.as_str(), made.created_by), (ChannelKind::Private, "a topic", bob.id));
    assert_eq!((made.last_seq, made.member_count), (1, 1));
    assert_eq!(h.store.role(made.id, bob.id).await.must("role"), Some(Role::Owner));
}

/// Joins and leaves change `member_count`, roles and the log; joining as a
/// member or leaving as a non-member changes nothing.
pub async fn channels_member_count_join_leave(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let channel = h.channel(&alice, ChannelKind::Public, "general").await;
    let count = |id| async move { h.load(id).await.member_count };

    let joined = h.join(channel.id, bob.id).await;
    assert!(joined.created);
    assert_eq!(joined.events.len(), 1);
    assert_eq!((joined.events[0].seq, &joined.events[0].kind), (2, &EventKind::MemberJoined { user_id: bob.id }));
    assert_eq!(count(channel.id).await, 2);
    assert_eq!(h.store.role(channel.id, bob.id).await.must("role"), Some(Role::Member));

    let again = h.join(channel.id, bob.id).await;
    assert!(!again.created && again.events.is_empty(), "joining as a member appends nothing");
    assert_eq!(count(channel.id).await, 2);

    h.chat.join(carol.id, channel.id).await.must("chat join");
    assert_eq!(count(channel.id).await, 3);

    let left = h.leave(channel.id, bob.id).await;
    assert!(left.created);
    assert_eq!((left.events[0].seq, &left.events[0].kind), (4, &EventKind::MemberLeft { user_id: bob.id }));
    assert_eq!(count(channel.id).await, 2);
    assert_eq!(h.store.role(channel.id, bob.id).await.must("role"), None);

    let again = h.leave(channel.id, bob.id).await;
    assert!(!again.created && again.events.is_empty(), "leaving as a non-member appends nothing");
    h.chat.leave(carol.id, channel.id).await.must("chat leave");
    assert_eq!(count(channel.id).await, 1);

    // A leave, then a join again, in the same channel.
    h.join(channel.id, bob.id).await;
    let stored = h.load(channel.id).await;
    assert_eq!((stored.member_count, stored.last_seq), (2, 6));
    let log = h.log(channel.id).await;
    assert_eq!(seqs(&log), [1, 2, 3, 4, 5, 6]);
    let kinds: Vec<_> = log.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MemberJoined { user_id: alice.id },
            EventKind::MemberJoined { user_id: bob.id },
            EventKind::MemberJoined { user_id: carol.id },
            EventKind::MemberLeft { user_id: bob.id },
            EventKind::MemberLeft { user_id: carol.id },
            EventKind::MemberJoined { user_id: bob.id },
        ]
    );
}

/// Members come in the order they joined; those who joined in the same
/// instant (a batch, such as the first members of a DM) by username.
pub async fn channels_members_ordered(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let zed = h.user("zed").await;
    let amy = h.user("amy").await;
    let mia = h.user("mia").await;
    let bea = h.user("bea").await;
    let channel = h.channel(&zed, ChannelKind::Private, "ordered").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    h.join(channel.id, mia.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    h.join(channel.id, amy.id).await;

    let members = h.store.members(channel.id).await.must("members");
    let ids: Vec<UserId> = members.iter().map(|m| m.user.id).collect();
    assert_eq!(ids, [zed.id, mia.id, amy.id], "in the order they joined");
    assert_eq!(members[0].user, zed, "members carry the whole user");
    assert_eq!(members.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::Owner, Role::Member, Role::Member]);
    assert!(members.windows(2).all(|w| w[0].joined_at < w[1].joined_at), "joined_at as stored");

    let team = new_channel(bea.id, ChannelKind::Private, &h.name("team"));
    let first = vec![(zed.id, Role::Member), (bea.id, Role::Owner), (mia.id, Role::Member), (amy.id, Role::Member)];
    h.sequencer.submit(Command::Create { channel: team.clone(), members: first }).await.must("create");
    let members = h.store.members(team.id).await.must("members");
    let ids: Vec<UserId> = members.iter().map(|m| m.user.id).collect();
    assert_eq!(ids, [amy.id, bea.id, mia.id, zed.id], "joined together: by username");
    assert_eq!(h.store.members(ChannelId::generate()).await.must("members"), [], "unknown channel");
}

/// `my_channels` lists my channels (DMs included) with my read marker, which
/// starts at my own join (what came before is history), and counts as
/// unread only messages by others after it, not deleted;
/// `mark_read` only raises, and says where the marker stands when it moved,
/// counted alike.
pub async fn channels_my_channels_unread(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let channel = h.channel(&alice, ChannelKind::Public, "general").await;
    h.join(channel.id, bob.id).await; // seq 2
    for (sender, id) in [(alice.id, "a1"), (bob.id, "b1"), (alice.id, "a2"), (alice.id, "a3"), (bob.id, "b2")] {
        h.posted(channel.id, sender, id, "hello").await; // seqs 3..=7
    }
    let dm = h.chat.open_dm(bob.id, &[carol.id]).await.must("open_dm");

    let mine = |user: UserId, id: ChannelId| async move {
        let all = h.store.my_channels(user).await.must("my_channels");
        let found: Vec<MyChannel> = all.into_iter().filter(|c| c.channel.id == id).collect();
        assert!(found.len() <= 1, "a channel is listed once");
        let one = h.store.my_channel(user, id).await.must("my_channel");
        assert_eq!(one, found.first().cloned(), "my_channel reads the same as my_channels");
        found.into_iter().next()
    };
    let marker = |user: UserId| async move {
        let c = mine(user, channel.id).await.expect("a member sees the channel");
        (c.last_read_seq, c.unread_count)
    };

    let listed = mine(bob.id, channel.id).await.expect("listed");
    assert_eq!(listed.channel, h.load(channel.id).await, "the channel as stored");
    assert_eq!((listed.channel.last_seq, listed.channel.member_count), (7, 2));
    assert_eq!(marker(bob.id).await, (2, 3), "from his join: alice's three messages, not bob's own");
    assert_eq!(marker(alice.id).await, (1, 2), "from her join: bob's two messages");
    assert!(mine(carol.id, channel.id).await.is_none(), "not a member: not listed");
    assert!(mine(bob.id, dm.id).await.is_some(), "DMs are listed");
    let carol_in_dm = mine(carol.id, dm.id).await.map(|c| (c.last_read_seq >= 1, c.unread_count));
    assert_eq!(carol_in_dm, Some((true, 0)), "from her join, nothing unread");

    let moved = |last_read_seq, unread_count| {
        Some(ReadMarker { channel_id: channel.id, last_read_seq, unread_count, mention_count: 0 })
    };
    assert_eq!(h.store.mark_read(channel.id, bob.id, 5).await.must("mark_read"), moved(5, 1), "the marker as it moved");
    assert_eq!(marker(bob.id).await, (5, 1), "only a3 is after seq 5");
    assert_eq!(h.store.mark_read(channel.id, bob.id, 3).await.must("mark_read"), None, "below: no move");
    assert_eq!(h.store.mark_read(channel.id, bob.id, 5).await.must("mark_read"), None, "at: no move");
    assert_eq!(marker(bob.id).await, (5, 1), "mark_read never lowers");
    assert_eq!(marker(alice.id).await, (1, 2), "markers are per member");
    assert_eq!(h.store.mark_read(channel.id, carol.id, 7).await.must("mark_read"), None, "not a member");
    assert_eq!(h.store.mark_read(channel.id, bob.id, 7).await.must("mark_read"), moved(7, 0));
    assert_eq!(marker(bob.id).await, (7, 0));
    h.posted(channel.id, alice.id, "a4", "more").await;
    assert_eq!(marker(bob.id).await, (7, 1), "a new message is unread");
    assert_eq!(h.store.mark_read(channel.id, alice.id, 6).await.must("mark_read"), moved(6, 1), "b2 is bob's");
    let unread = h.posted(channel.id, alice.id, "a5", "never mind").await.seq;
    assert_eq!(marker(bob.id).await, (7, 2));
    let key = ClientMsgId::parse("d5").must("a key");
    let delete = Command::Change {
        channel: channel.id,
        actor: alice.id,
        client_msg_id: key,
        change: Change::Delete { target: unread },
        server_admin: false,
    };
    h.sequencer.submit(delete).await.must("delete");
    assert_eq!(marker(bob.id).await, (7, 1), "a deleted message is not unread");
    let read = h.store.mark_read(channel.id, bob.id, 8).await.must("mark_read");
    assert_eq!(read, moved(8, 0), "nor counted when the marker moves");
    assert_eq!(h.store.mark_read(channel.id, bob.id, 7).await.must("mark_read"), None);

    h.leave(channel.id, bob.id).await;
    assert!(mine(bob.id, channel.id).await.is_none(), "left: not listed");
}

/// `directory` lists public channels as stored, never private or
/// direct ones, by name, a page at a time after a name, and only those
/// whose name contains the query, ignoring ASCII case.
pub async fn channels_public_list(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let public = h.channel(&alice, ChannelKind::Public, "town square").await;
    let private = h.channel(&alice, ChannelKind::Private, "secret").await;
    let dm = h.chat.open_dm(alice.id, &[bob.id]).await.must("open_dm");
    h.join(public.id, bob.id).await;

    let all = DirectoryPage::parse(None, None, None).must("a page");
    let listed = h.store.directory(&all, 100_000).await.must("directory");
    assert!(listed.iter().all(|c| c.kind == ChannelKind::Public), "only public channels");
    assert!(listed.windows(2).all(|w| w[0].name < w[1].name), "by name");
    let ours: Vec<&Channel> = listed.iter().filter(|c| [public.id, private.id, dm.id].contains(&c.id)).collect();
    assert_eq!(ours, [&h.load(public.id).await], "the public one, with its current counts");

    for name in ["dir b", "dir a", "dir_c", "Dir d", "dirt"] {
        h.channel(&alice, ChannelKind::Public, name).await;
    }
    h.channel(&alice, ChannelKind::Private, "dir secret").await;
    let names = |page: Vec<Channel>| page.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let find = |q: String, after: Option<String>| async move {
        let page = DirectoryPage::parse(Some(&q), after.as_deref(), None).must("a page");
        names(h.store.directory(&page, 2).await.must("directory"))
    };
    let dir = h.name("DIR");
    // Byte order: "D" before "d", " " before "_" before "t".
    assert_eq!(find(dir.clone(), None).await, [h.name("Dir d"), h.name("dir a")], "the first page, any case");
    let next = [h.name("dir b"), h.name("dir_c")];
    assert_eq!(find(dir.clone(), Some(h.name("dir a"))).await, next, "after a name; never the private one");
    assert_eq!(find(dir.clone(), Some(h.name("dir_c"))).await, [h.name("dirt")], "the last");
    assert_eq!(find(h.name("dir_"), None).await, [h.name("dir_c")], "_ is itself");
    assert_eq!(find(h.name("no such"), None).await, Vec::<String>::new());

    // The admins' list: private ones too, never a DM, paged alike.
    let every = |q: String, after: Option<String>| async move {
        let page = DirectoryPage::parse(Some(&q), after.as_deref(), None).must("a page").of_every_channel();
        names(h.store.directory(&page, 3).await.must("directory"))
    };
    let first = [h.name("Dir d"), h.name("dir a"), h.name("dir b")];
    assert_eq!(every(dir.clone(), None).await, first);
    let rest = [h.name("dir secret"), h.name("dir_c"), h.name("dirt")];
    assert_eq!(every(dir.clone(), Some(h.name("dir b"))).await, rest, "the private one in its place");
    let all = DirectoryPage::parse(None, None, None).must("a page").of_every_channel();
    let listed = h.store.directory(&all, 100_000).await.must("directory");
    assert!(listed.iter().all(|c| c.kind != ChannelKind::Direct), "never a DM");
    assert!(listed.iter().any(|c| c.id == private.id));
}

/// My preferences in a channel: until I choose, every message of a DM and
/// mentions elsewhere, unmuted; `set_preferences` changes what it is given
/// and keeps the rest, per member, and only for members.
pub async fn channels_preferences(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "general").await;
    h.join(channel.id, bob.id).await;
    let dm = h.chat.open_dm(alice.id, &[bob.id]).await.must("open_dm");
    let listed = |user: UserId, id: ChannelId| async move {
        let all = h.store.my_channels(user).await.must("my_channels");
        all.into_iter().find(|c| c.channel.id == id).map(|c| c.preferences)
    };
    let prefs = |notify, muted| Preferences { notify, muted };

    assert_eq!(listed(bob.id, channel.id).await, Some(prefs(Notify::Mentions, false)), "a channel: mentions");
    assert_eq!(listed(bob.id, dm.id).await, Some(prefs(Notify::All, false)), "a DM: everything");

    let set = |user: UserId, id: ChannelId, notify: Option<Notify>, muted: Option<bool>| async move {
        h.store.set_preferences(id, user, notify, muted).await.must("set_preferences")
    };
    assert_eq!(set(bob.id, channel.id, Some(Notify::All), None).await, Some(prefs(Notify::All, false)));
    assert_eq!(
        set(bob.id, channel.id, None, Some(true)).await,
        Some(prefs(Notify::All, true)),
        "muting keeps the level"
    );
    assert_eq!(listed(bob.id, channel.id).await, Some(prefs(Notify::All, true)));
    assert_eq!(listed(alice.id, channel.id).await, Some(prefs(Notify::Mentions, false)), "per member");
    assert_eq!(set(bob.id, dm.id, Some(Notify::Nothing), Some(false)).await, Some(prefs(Notify::Nothing, false)));
    assert_eq!(set(bob.id, channel.id, None, None).await, Some(prefs(Notify::All, true)), "nothing given: as it was");

    let carol = h.user("carol").await;
    assert_eq!(set(carol.id, channel.id, Some(Notify::All), None).await, None, "not a member");
    h.leave(channel.id, bob.id).await;
    assert_eq!(set(bob.id, channel.id, None, Some(false)).await, None, "left: not a member");
}
