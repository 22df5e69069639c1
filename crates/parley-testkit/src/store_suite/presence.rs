//! Checks of whose presence a person is shown (`parley_core::presence`): a
//! shared public or private channel, or a DM the other person opened or wrote in.

use std::collections::HashSet;
use std::sync::Arc;

use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, User};
use parley_core::ports::Store;

use super::harness::{Harness, Must};

/// No channel in these checks comes near it, unless it says so.
const ANY_SIZE: u32 = 1_000;

/// A DM shows who opened it and, from their first message on, who wrote in
/// it; a group DM alike. Other channels are not listed.
pub async fn presence_dm_shown(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let (ann, ben, cat) = (h.user("ann").await, h.user("ben").await, h.user("cat").await);
    let room = h.channel(&ann, ChannelKind::Public, "room").await;
    h.join(room.id, ben.id).await;
    let dm = h.chat.open_dm(ann.id, &[ben.id]).await.must("open_dm").id;
    let group = h.chat.open_dm(cat.id, &[ann.id, ben.id]).await.must("open_dm").id;

    let shown = |user: UserId| async move {
        h.store.dm_shown(user).await.must("dm_shown").into_iter().collect::<HashSet<(ChannelId, UserId)>>()
    };
    h.posted(room.id, ben.id, "b0", "in the room").await;
    let opened = HashSet::from([(dm, ann.id), (group, cat.id)]);
    assert_eq!(shown(ann.id).await, opened, "the openers only; no public channel");
    assert_eq!(shown(ben.id).await, opened, "the same for every member");
    assert_eq!(shown(cat.id).await, HashSet::from([(group, cat.id)]), "only the DMs cat is in");

    h.posted(dm, ben.id, "b1", "hi ann").await;
    h.posted(group, ben.id, "b2", "hi all").await;
    h.posted(group, ben.id, "b3", "again").await;
    let answered = HashSet::from([(dm, ann.id), (dm, ben.id), (group, cat.id), (group, ben.id)]);
    assert_eq!(shown(ann.id).await, answered, "who wrote in a DM shows in it, once");
    assert_eq!(shown(cat.id).await, HashSet::from([(group, cat.id), (group, ben.id)]));
}

/// The people a user is shown, through every kind of channel, each once:
/// channel-mates, DM openers, people who wrote in a DM; never a DM's member
/// who has not written, nor anyone of a channel left or too large.
pub async fn presence_peers_follow_the_rule(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let [ann, ben, cat, dan, eve, fay] = people(h, ["ann", "ben", "cat", "dan", "eve", "fay"]).await;
    let peers = |user: &User, max: u32| {
        let id = user.id;
        async move {
            let found = h.store.presence_peers(id, max).await.must("presence_peers");
            let unique: HashSet<UserId> = found.iter().copied().collect();
            assert_eq!(unique.len(), found.len(), "each person once: {found:?}");
            unique
        }
    };
    let room = h.channel(&ann, ChannelKind::Public, "room").await;
    let den = h.channel(&ann, ChannelKind::Private, "den").await;
    h.join(room.id, ben.id).await;
    h.join(den.id, ben.id).await;
    assert_eq!(peers(&ann, ANY_SIZE).await, HashSet::from([ben.id]), "one person through two channels");
    assert_eq!(peers(&ben, ANY_SIZE).await, HashSet::from([ann.id]));

    // Cat opens a DM with ann: ann is shown cat, cat is not shown ann.
    let dm = h.chat.open_dm(cat.id, &[ann.id]).await.must("open_dm").id;
    assert_eq!(peers(&ann, ANY_SIZE).await, HashSet::from([ben.id, cat.id]));
    assert!(peers(&cat, ANY_SIZE).await.is_empty(), "a DM nobody answered shows its opener only");
    h.posted(dm, ann.id, "a1", "hello cat").await;
    assert_eq!(peers(&cat, ANY_SIZE).await, HashSet::from([ann.id]), "ann answered");

    // A group DM by dan: each sees dan; eve and fay see ann once she wrote.
    let group = h.chat.open_dm(dan.id, &[eve.id, fay.id]).await.must("open_dm").id;
    assert_eq!(peers(&eve, ANY_SIZE).await, HashSet::from([dan.id]));
    assert!(peers(&dan, ANY_SIZE).await.is_empty());
    h.posted(group, fay.id, "f1", "hi").await;
    assert_eq!(peers(&eve, ANY_SIZE).await, HashSet::from([dan.id, fay.id]));
    assert_eq!(peers(&dan, ANY_SIZE).await, HashSet::from([fay.id]));

    // Too large: den has 2 members, room 2; with cat's DM ann is in 3 channels.
    h.join(den.id, eve.id).await;
    assert_eq!(peers(&ann, 3).await, HashSet::from([ben.id, cat.id, eve.id]), "3 members: not too many");
    assert_eq!(peers(&ann, 2).await, HashSet::from([ben.id, cat.id]), "den's 3 are too many");
    assert_eq!(peers(&eve, 3).await, HashSet::from([ann.id, ben.id, dan.id, fay.id]));
    assert!(peers(&eve, 2).await.is_empty(), "den and the group DM have 3 each");

    h.leave(room.id, ben.id).await;
    assert_eq!(peers(&ann, ANY_SIZE).await, HashSet::from([ben.id, cat.id, eve.id]), "ben is still in den");
    h.leave(den.id, ben.id).await;
    assert_eq!(peers(&ann, ANY_SIZE).await, HashSet::from([cat.id, eve.id]), "ben left every shared channel");
    assert!(!peers(&ben, ANY_SIZE).await.contains(&ann.id));
}

async fn people<const N: usize>(h: &Harness, names: [&str; N]) -> [User; N] {
    let mut made = Vec::with_capacity(N);
    for name in names {
        made.push(h.user(name).await);
    }
    made.try_into().unwrap_or_else(|_| unreachable!("one user per name"))
}
