//! Checks of invites: stored as given, and each use counted atomically while the invite is usable.

use std::sync::Arc;

use parley_core::model::{ChannelKind, Invite};
use parley_core::ports::Store;
use parley_core::time::Timestamp;

use super::harness::{Harness, Must};

/// An invite is stored as given and found by its code; each use is counted.
pub async fn invites_lifecycle(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Private, "club").await;
    let now = Timestamp::now();
    let limited = Invite {
        code: h.name("limited"),
        channel_id: Some(channel.id),
        created_by: alice.id,
        created_at: now,
        expires_at: Some(now.plus_seconds(3600)),
        max_uses: Some(10),
        uses: 0,
    };
    let open = Invite { code: h.name("open"), expires_at: None, max_uses: None, ..limited.clone() };
    h.store.create_invite(&limited).await.must("create_invite");
    h.store.create_invite(&open).await.must("create_invite");

    assert_eq!(h.store.invite(&limited.code).await.must("invite"), Some(limited.clone()), "as given");
    assert_eq!(h.store.invite(&open.code).await.must("invite"), Some(open.clone()), "no limits");
    assert_eq!(h.store.invite(&h.name("nope")).await.must("invite"), None, "unknown code");
    assert_eq!(h.store.use_invite(&h.name("nope"), now).await.must("use_invite"), None, "unknown code");

    for uses in 1..=3 {
        let used = h.store.use_invite(&limited.code, now).await.must("use_invite");
        let used = used.expect("a usable invite");
        assert_eq!((used.code.as_str(), used.channel_id), (limited.code.as_str(), Some(channel.id)));
        let stored = h.store.invite(&limited.code).await.must("invite").expect("stored");
        assert_eq!(stored, Invite { uses, ..limited.clone() }, "each use counted");
    }
    for _ in 0..25 {
        assert!(h.store.use_invite(&open.code, now).await.must("use_invite").is_some(), "no limit");
    }
    assert_eq!(h.store.invite(&open.code).await.must("invite").map(|i| i.uses), Some(25));
}

/// A used-up or expired invite is refused and its count left alone; the last
/// use, raced for, goes to exactly one caller.
pub async fn invites_used_up_and_expired(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "club").await;
    let now = Timestamp::now();
    let base = Invite {
        code: String::new(),
        channel_id: Some(channel.id),
        created_by: alice.id,
        created_at: now,
        expires_at: None,
        max_uses: None,
        uses: 0,
    };

    let twice = Invite { code: h.name("twice"), max_uses: Some(2), ..base.clone() };
    h.store.create_invite(&twice).await.must("create_invite");
    assert!(h.store.use_invite(&twice.code, now).await.must("use_invite").is_some());
    assert!(h.store.use_invite(&twice.code, now).await.must("use_invite").is_some());
    assert_eq!(h.store.use_invite(&twice.code, now).await.must("use_invite"), None, "used up");
    assert_eq!(h.store.invite(&twice.code).await.must("invite").map(|i| i.uses), Some(2), "not counted");

    let expires_at = now.plus_seconds(60);
    let brief = Invite { code: h.name("brief"), expires_at: Some(expires_at), ..base.clone() };
    h.store.create_invite(&brief).await.must("create_invite");
    let just_before = Timestamp::from_millis(expires_at.millis() - 1);
    assert!(h.store.use_invite(&brief.code, just_before).await.must("use_invite").is_some(), "still usable");
    assert_eq!(
        h.store.use_invite(&brief.code, expires_at).await.must("use_invite"),
        None,
        "expired, as Invite::usable_at"
    );
    assert_eq!(h.store.use_invite(&brief.code, now.plus_seconds(3600)).await.must("use_invite"), None);
    assert_eq!(h.store.invite(&brief.code).await.must("invite").map(|i| i.uses), Some(1), "refusals not counted");

    let contested = Invite { code: h.name("contested"), max_uses: Some(3), ..base };
    h.store.create_invite(&contested).await.must("create_invite");
    let racers = (0..20).map(|_| {
        let store = h.store.clone();
        let code = contested.code.clone();
        tokio::spawn(async move { store.use_invite(&code, now).await })
    });
    let won = futures::future::join_all(racers)
        .await
        .into_iter()
        .filter(|r| r.as_ref().expect("task").as_ref().expect("use_invite").is_some())
        .count();
    assert_eq!(won, 3, "exactly max_uses of 20 concurrent uses succeed");
    assert_eq!(h.store.invite(&contested.code).await.must("invite").map(|i| i.uses), Some(3));
}
