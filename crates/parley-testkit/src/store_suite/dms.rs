//! Checks of direct channels, opened through `Chat::open_dm`: one channel per set of people.

use std::collections::HashSet;
use std::sync::Arc;

use parley_core::chat::MAX_DM_OTHERS;
use parley_core::command::Command;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, Role, User};
use parley_core::ports::Store;
use parley_core::ErrorCode;

use super::harness::{code_of, new_channel, Harness, Must};

/// The same set of people is the same channel, whoever opens it, in whatever
/// order, with duplicates or themselves in the list; a different set is
/// another channel. Opened concurrently, still one channel.
pub async fn dms_same_people_same_channel(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let (a, b, c) = (h.user("ann").await, h.user("ben").await, h.user("cat").await);

    let abc = h.chat.open_dm(a.id, &[b.id, c.id]).await.must("open_dm");
    assert_eq!(abc.kind, ChannelKind::Direct);
    assert_eq!((abc.name.as_str(), abc.member_count, abc.last_seq), ("", 3, 3));
    let mut key: Vec<UserId> = vec![a.id, b.id, c.id];
    key.sort_unstable();
    let key = key.iter().map(UserId::to_string).collect::<Vec<_>>().join(",");
    assert_eq!(abc.dm_key.as_deref(), Some(key.as_str()), "the sorted member ids");

    for (opener, others) in
        [(c.id, vec![b.id, a.id, a.id, c.id]), (b.id, vec![c.id, b.id, a.id]), (a.id, vec![c.id, b.id])]
    {
        let again = h.chat.open_dm(opener, &others).await.must("open_dm again");
        assert_eq!(again, abc, "the same people: the same channel, unchanged");
    }
    let members = h.store.members(abc.id).await.must("members");
    let people: HashSet<UserId> = members.iter().map(|m| m.user.id).collect();
    assert_eq!(people, HashSet::from([a.id, b.id, c.id]));
    assert!(members.iter().all(|m| m.role == Role::Member), "nobody owns a DM");
    assert_eq!(h.store.dm(&key).await.must("dm"), Some(abc.clone()), "found by its key");
    assert_eq!(h.store.dm(&format!("{key},x")).await.must("dm"), None, "another key: none");

    let ab = h.chat.open_dm(a.id, &[b.id]).await.must("open_dm");
    assert_ne!(ab.id, abc.id, "another set: another channel");
    assert_eq!(h.chat.open_dm(b.id, &[a.id, b.id, a.id]).await.must("open_dm").id, ab.id);
    let found = h.store.my_channels(c.id).await.must("my_channels");
    let ids: Vec<ChannelId> = found.iter().map(|m| m.channel.id).collect();
    assert!(ids.contains(&abc.id) && !ids.contains(&ab.id), "each DM is listed for its people only");

    // Opened by many at once, some in one batch: one channel.
    let (d, e) = (h.user("dan").await, h.user("eve").await);
    let opens = (0..16).map(|i| {
        let (me, other) = if i % 2 == 0 { (d.id, e.id) } else { (e.id, d.id) };
        async move { h.chat.open_dm(me, &[other]).await }
    });
    let opened: HashSet<ChannelId> =
        futures::future::join_all(opens).await.into_iter().map(|r| r.must("open_dm").id).collect();
    assert_eq!(opened.len(), 1, "concurrent opens of one DM make one channel");

    // Several Create commands of one DM in the same batch.
    let creates = (0..3).map(|_| dm_create(&d, &[&d, &a])).collect();
    let results = h.in_one_batch(creates).await;
    let appended: Vec<_> = results.into_iter().map(|r| r.must("create in one batch")).collect();
    assert!(appended.iter().all(|x| x.channel_id == appended[0].channel_id), "one channel per batch");
    assert_eq!(appended.iter().filter(|x| x.created).count(), 1, "created once");
    assert_eq!(h.chat.open_dm(a.id, &[d.id]).await.must("open_dm").id, appended[0].channel_id, "and found later");
}

/// A DM needs 1 to 8 other people who exist.
pub async fn dms_refused(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let me = h.user("me").await;
    let mut others = Vec::new();
    for i in 0..=MAX_DM_OTHERS {
        others.push(h.user(&format!("o{i}")).await.id);
    }
    let code = |others: Vec<UserId>| async move { code_of(h.chat.open_dm(me.id, &others).await, "open_dm") };

    assert_eq!(code(vec![]).await, ErrorCode::BadRequest, "nobody else");
    assert_eq!(code(vec![me.id, me.id]).await, ErrorCode::BadRequest, "only myself");
    assert_eq!(code(others.clone()).await, ErrorCode::BadRequest, "nine others");
    assert_eq!(code(vec![others[0], UserId::generate()]).await, ErrorCode::NotFound, "an unknown user");

    let eight = h.chat.open_dm(me.id, &others[..MAX_DM_OTHERS]).await.must("eight others");
    assert_eq!(eight.member_count, 9);
    let with_dupes: Vec<UserId> = others[..MAX_DM_OTHERS].iter().chain(&others[..4]).chain([&me.id]).copied().collect();
    let again = h.chat.open_dm(me.id, &with_dupes).await.must("eight others, repeated");
    assert_eq!(again.id, eight.id, "duplicates do not count");
}

fn dm_create(creator: &User, people: &[&User]) -> Command {
    let mut ids: Vec<UserId> = people.iter().map(|u| u.id).collect();
    ids.sort_unstable();
    let channel = parley_core::model::Channel {
        kind: ChannelKind::Direct,
        name: String::new(),
        topic: String::new(),
        dm_key: Some(ids.iter().map(UserId::to_string).collect::<Vec<_>>().join(",")),
        ..new_channel(creator.id, ChannelKind::Direct, "")
    };
    Command::Create { channel, members: ids.iter().map(|id| (*id, Role::Member)).collect() }
}
