//! Checks of running a server: who may sign up (the policy, invites and join
//! links counted in the step that stores the account, the first account its
//! admin), server roles and deactivation, a user's sessions, password resets,
//! invites listed and revoked, and the audit log.

use std::sync::Arc;

use parley_core::accounts::{self, Admission, Registration};
use parley_core::command::Stamp;
use parley_core::id::{EventId, UserId, WebhookId};
use parley_core::model::{
    AuditEntry, ChannelKind, Delivery, Invite, Notify, OutgoingHook, PasswordReset, ServerRole, Session, User, Webhook,
};
use parley_core::parse::Username;
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;

use super::harness::{code_of, Harness, Must};

fn new_user(h: &Harness, name: &str) -> User {
    User::new(Username::parse(&h.name(name)).expect("a valid test username"), format!("{name} {}", h.name("")))
}

/// Invite-only sign-up with invite `code`.
fn with_invite(code: &str) -> Admission<'_> {
    Admission { policy: Registration::Invite, invite: Some(code), now: Timestamp::now() }
}

fn invite(h: &Harness, code: &str, by: UserId, max_uses: Option<u32>) -> Invite {
    Invite {
        code: h.name(code),
        channel_id: None,
        created_by: by,
        created_at: Timestamp::now(),
        expires_at: None,
        max_uses,
        uses: 0,
    }
}

/// Sign-up by policy: closed refuses, invite-only refuses without an invite
/// (on a server with users), an unusable invite stores nothing, a join link
/// is counted and its last use goes to one of several at once; on a fresh
/// store exactly one of several first sign-ups at once is its admin.
pub async fn accounts_admission(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let fresh = !h.store.has_users().await.must("has_users");
    let racers: Vec<User> = (0..6).map(|i| new_user(h, &format!("first{i}"))).collect();
    let signing_up = racers.iter().cloned().map(|user| {
        let store = h.store.clone();
        tokio::spawn(async move {
            let admission = Admission { policy: Registration::Invite, invite: None, now: Timestamp::now() };
            store.create_user(&user, "hash", &admission).await
        })
    });
    let mut admins = 0;
    let mut stored = 0;
    for answer in futures::future::join_all(signing_up).await {
        match answer.expect("a sign-up task") {
            Ok(admitted) => {
                stored += 1;
                admins += usize::from(admitted.role == ServerRole::Admin);
            }
            Err(e) => assert_eq!(e, accounts::invite_needed(), "the others need an invite"),
        }
    }
    if fresh {
        assert_eq!((stored, admins), (1, 1), "one first account, the admin, of sign-ups at once");
    } else {
        assert_eq!((stored, admins), (0, 0), "a server with users takes invites only");
    }
    assert!(h.store.has_users().await.must("has_users"));

    let owner = h.user("owner").await;
    let closed = Admission { policy: Registration::Closed, invite: None, now: Timestamp::now() };
    let refused = new_user(h, "closed");
    assert_eq!(h.store.create_user(&refused, "hash", &closed).await, Err(accounts::closed()), "closed");
    assert_eq!(h.store.user(refused.id).await.must("user"), None, "not stored");

    let link = invite(h, "link", owner.id, Some(2));
    h.store.create_invite(&link).await.must("create_invite");
    let unknown = new_user(h, "unknown");
    let answer = h.store.create_user(&unknown, "hash", &with_invite(&h.name("nope"))).await;
    assert_eq!(answer, Err(accounts::invite_unusable()), "an unknown invite");
    assert_eq!(h.store.user(unknown.id).await.must("user"), None, "not stored");

    let guest = new_user(h, "guest");
    let admitted = h.store.create_user(&guest, "hash", &with_invite(&link.code)).await.must("invited");
    assert_eq!(admitted.role, ServerRole::Member);
    assert_eq!(admitted.invite.map(|i| (i.code, i.uses)), Some((link.code.clone(), 1)), "the link counted");

    // A name already taken: nothing is stored, and the use is not spent.
    let taken = User { id: UserId::generate(), ..guest.clone() };
    let answer = h.store.create_user(&taken, "hash", &with_invite(&link.code)).await;
    assert_eq!(code_of(answer, "a taken name with a good invite"), ErrorCode::Conflict);
    assert_eq!(h.store.invite(&link.code).await.must("invite").map(|i| i.uses), Some(1), "not counted");

    let last: Vec<User> = (0..5).map(|i| new_user(h, &format!("last{i}"))).collect();
    let taking = last.into_iter().map(|user| {
        let (store, code) = (h.store.clone(), link.code.clone());
        tokio::spawn(async move { store.create_user(&user, "hash", &with_invite(&code)).await.is_ok() })
    });
    let won = futures::future::join_all(taking).await.into_iter().filter(|r| *r.as_ref().expect("task")).count();
    assert_eq!(won, 1, "the link's last use goes to one sign-up of five");
}

/// A role and a deactivation are stored; a deactivated user's sessions do
/// not sign them in; reactivated, they do again. A password is replaced.
pub async fn accounts_roles_and_deactivation(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    h.store.set_server_role(alice.id, ServerRole::Admin).await.must("set_server_role");
    let stored = h.store.user(alice.id).await.must("user").expect("alice");
    assert_eq!(stored.role, ServerRole::Admin);
    let now = Timestamp::now();
    let session = Session {
        token_hash: h.name("alice-token"),
        user_id: alice.id,
        created_at: now,
        expires_at: now.plus_seconds(3600),
        last_seen_at: now,
        user_agent: None,
    };
    h.store.create_session(&session).await.must("create_session");
    assert!(h.store.session_user(&session.token_hash, now).await.must("session_user").is_some());

    let at = Timestamp::from_millis(now.millis() - now.millis() % 1000);
    h.store.set_deactivated(alice.id, Some(at)).await.must("deactivate");
    let stored = h.store.user(alice.id).await.must("user").expect("alice");
    assert_eq!(stored.deactivated_at, Some(at), "deactivated, and when");
    assert!(!stored.is_admin(), "a deactivated admin acts as none");
    assert_eq!(h.store.session_user(&session.token_hash, now).await.must("session_user"), None, "signed out");
    let found = h.store.credentials(&alice.username).await.must("credentials").map(|(u, _)| u.deactivated_at);
    assert_eq!(found, Some(Some(at)), "login sees it");
    h.store.set_deactivated(alice.id, None).await.must("reactivate");
    assert!(h.store.session_user(&session.token_hash, now).await.must("session_user").is_some(), "back");

    h.store.set_password(alice.id, "new-hash").await.must("set_password");
    let hash = h.store.credentials(&alice.username).await.must("credentials").map(|(_, hash)| hash);
    assert_eq!(hash.as_deref(), Some("new-hash"));
    let nobody = UserId::generate();
    assert_eq!(code_of(h.store.set_password(nobody, "x").await, "an unknown user"), ErrorCode::NotFound);
    assert_eq!(code_of(h.store.set_server_role(nobody, ServerRole::Admin).await, "unknown"), ErrorCode::NotFound);
    assert_eq!(code_of(h.store.set_deactivated(nobody, None).await, "unknown"), ErrorCode::NotFound);
}

/// A user's sessions are listed, the last seen first, with their user agent;
/// touching one moves it up; all but one end at once, and only the user's.
pub async fn sessions_listed_and_ended(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let now = Timestamp::now();
    let session = |name: &str, user: UserId, seen: i64| Session {
        token_hash: h.name(name),
        user_id: user,
        created_at: Timestamp::from_millis(now.millis() - 10_000),
        expires_at: now.plus_seconds(3600),
        last_seen_at: Timestamp::from_millis(now.millis() - seen),
        user_agent: Some(format!("agent {name}")),
    };
    let (phone, laptop, tablet) =
        (session("phone", alice.id, 3000), session("laptop", alice.id, 1000), session("tablet", alice.id, 2000));
    let expired = Session { expires_at: Timestamp::from_millis(now.millis() - 1), ..session("old", alice.id, 5000) };
    for s in [&phone, &laptop, &tablet, &expired, &session("bobs", bob.id, 0)] {
        h.store.create_session(s).await.must("create_session");
    }
    let listed = h.store.sessions(alice.id, now).await.must("sessions");
    assert_eq!(listed, vec![laptop.clone(), tablet.clone(), phone.clone()], "unexpired, the last seen first");

    h.store.touch_session(&phone.token_hash, now).await.must("touch_session");
    let listed = h.store.sessions(alice.id, now).await.must("sessions");
    assert_eq!(listed.first().map(|s| (&s.token_hash, s.last_seen_at)), Some((&phone.token_hash, now)));

    let mut ended = h.store.delete_sessions(alice.id, Some(&laptop.token_hash)).await.must("delete_sessions");
    ended.sort();
    let mut expected = vec![phone.token_hash.clone(), tablet.token_hash.clone(), expired.token_hash.clone()];
    expected.sort();
    assert_eq!(ended, expected, "every other session of hers, the expired one too");
    assert_eq!(h.store.sessions(alice.id, now).await.must("sessions"), vec![laptop.clone()]);
    assert_eq!(h.store.sessions(bob.id, now).await.must("sessions").len(), 1, "bob's untouched");
    assert_eq!(h.store.delete_sessions(alice.id, None).await.must("delete_sessions"), vec![laptop.token_hash]);
}

/// A reset is used once, only before it expires.
pub async fn password_resets_used_once(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let now = Timestamp::now();
    let reset = PasswordReset {
        token_hash: h.name("reset"),
        user_id: alice.id,
        created_at: now,
        expires_at: now.plus_seconds(PasswordReset::SECONDS),
    };
    h.store.create_reset(&reset).await.must("create_reset");
    let late = Timestamp::from_millis(reset.expires_at.millis());
    assert_eq!(h.store.use_reset(&reset.token_hash, late).await.must("use_reset"), None, "expired");
    let racers = (0..6).map(|_| {
        let (store, hash) = (h.store.clone(), reset.token_hash.clone());
        tokio::spawn(async move { store.use_reset(&hash, now).await })
    });
    let used: Vec<_> = futures::future::join_all(racers)
        .await
        .into_iter()
        .filter_map(|r| r.expect("task").expect("use_reset"))
        .collect();
    assert_eq!(used, vec![alice.id], "one use, of six at once");
    assert_eq!(h.store.use_reset(&h.name("nope"), now).await.must("use_reset"), None, "unknown");
}

/// A channel's invites and the server's join links are listed apart, the
/// newest first; a deleted invite is gone and cannot be used.
pub async fn invites_listed_and_revoked(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "club").await;
    let now = Timestamp::now();
    let at = |ms: i64| Timestamp::from_millis(now.millis() + ms);
    let older = Invite { channel_id: Some(channel.id), created_at: at(-2000), ..invite(h, "older", alice.id, None) };
    let newer = Invite { channel_id: Some(channel.id), created_at: at(-1000), ..invite(h, "newer", alice.id, None) };
    let link = invite(h, "link", alice.id, Some(5));
    for i in [&older, &newer, &link] {
        h.store.create_invite(i).await.must("create_invite");
    }
    let listed = h.store.invites(Some(channel.id)).await.must("invites");
    assert_eq!(listed, vec![newer.clone(), older.clone()], "the channel's, newest first");
    let links = h.store.invites(None).await.must("invites");
    assert!(links.contains(&link), "join links, with no channel");
    assert!(links.iter().all(|i| i.channel_id.is_none()));

    assert!(h.store.delete_invite(&older.code).await.must("delete_invite"));
    assert!(!h.store.delete_invite(&older.code).await.must("delete_invite"), "already gone");
    assert_eq!(h.store.invite(&older.code).await.must("invite"), None);
    assert_eq!(h.store.use_invite(&older.code, now).await.must("use_invite"), None, "revoked");
    assert_eq!(h.store.invites(Some(channel.id)).await.must("invites"), vec![newer]);
}

/// The audit log keeps each entry as given, under increasing ids, and pages
/// from the newest.
pub async fn audit_log_pages(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "club").await;
    let action = h.name("test.action");
    for n in 0..5 {
        let entry = AuditEntry {
            id: 0,
            at: Timestamp::from_millis(1_700_000_000_000 + n),
            actor_id: alice.id,
            action: action.clone(),
            user_id: (n % 2 == 0).then_some(bob.id),
            channel_id: (n % 2 == 1).then_some(channel.id),
            detail: format!(r#"{{"n":{n}}}"#),
        };
        h.store.record(&entry).await.must("record");
    }
    // Other checks may write entries at the same time: keep this check's own.
    let mine = |entries: Vec<AuditEntry>| entries.into_iter().filter(|e| e.action == action).collect::<Vec<_>>();
    let newest = mine(h.store.audit(None, 1000).await.must("audit"));
    let details: Vec<&str> = newest.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, [4, 3, 2, 1, 0].map(|n| format!(r#"{{"n":{n}}}"#)), "newest first");
    assert!(newest.windows(2).all(|w| w[0].id > w[1].id), "increasing ids");
    let third = &newest[2];
    assert_eq!((third.actor_id, third.user_id, third.channel_id), (alice.id, Some(bob.id), None));
    assert_eq!(third.at, Timestamp::from_millis(1_700_000_000_002));
    let older = mine(h.store.audit(Some(third.id), 1000).await.must("audit"));
    assert_eq!(older, newest[3..].to_vec(), "before an id");
    assert_eq!(h.store.audit(None, 2).await.must("audit").len(), 2, "limited");
}

/// A bot is stored as one; an incoming webhook is found by its secret's
/// hash and by its id, listed with its channel's, and gone once deleted.
pub async fn webhooks_and_bots(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "alerts").await;
    let mut bot = new_user(h, "bot");
    bot.bot = true;
    bot.role = h.store.create_user(&bot, "hash", &Admission::by_owner()).await.must("a bot").role;
    assert_eq!(h.store.user(bot.id).await.must("user"), Some(bot.clone()), "read back as a bot");
    let now = Timestamp::now();
    let hook = |name: &str, ms: i64| Webhook {
        id: WebhookId::generate(),
        token_hash: h.name(name),
        channel_id: channel.id,
        bot_id: bot.id,
        name: name.to_owned(),
        created_by: alice.id,
        created_at: Timestamp::from_millis(now.millis() + ms),
    };
    let (older, newer) = (hook("older", 0), hook("newer", 1000));
    h.store.create_hook(&older).await.must("create_hook");
    h.store.create_hook(&newer).await.must("create_hook");
    assert_eq!(h.store.hook_by_token(&h.name("older")).await.must("hook_by_token"), Some(older.clone()));
    assert_eq!(h.store.hook_by_token(&h.name("nope")).await.must("hook_by_token"), None);
    assert_eq!(h.store.hook(newer.id).await.must("hook"), Some(newer.clone()));
    assert_eq!(h.store.hooks(channel.id).await.must("hooks"), vec![newer.clone(), older.clone()], "newest first");
    h.store.delete_hook(older.id).await.must("delete_hook");
    assert_eq!(h.store.hook_by_token(&h.name("older")).await.must("hook_by_token"), None, "gone");
    assert_eq!(h.store.hooks(channel.id).await.must("hooks"), vec![newer]);
}

/// An outgoing webhook is due once its channel has an event past what it
/// delivered, and not while a retry waits; one node at a time holds it,
/// until its lease runs out; its delivery state is kept as recorded.
pub async fn outgoing_webhooks_leased(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let channel = h.channel(&alice, ChannelKind::Public, "deploys").await;
    let now = Timestamp::now();
    let hook = OutgoingHook {
        id: WebhookId::generate(),
        channel_id: channel.id,
        url: "https://example.com/hook".to_owned(),
        secret: h.name("secret"),
        created_by: alice.id,
        created_at: now,
        delivery: Delivery { delivered_seq: channel.last_seq, ..Delivery::default() },
    };
    h.store.create_outgoing(&hook).await.must("create_outgoing");
    assert_eq!(h.store.outgoing(hook.id).await.must("outgoing"), Some(hook.clone()));
    let (a, b) = (h.name("node-a"), h.name("node-b"));
    let mine = |hooks: Vec<OutgoingHook>| hooks.into_iter().filter(|x| x.id == hook.id).collect::<Vec<_>>();
    let lease = |node: String, at: Timestamp| {
        let store = h.store.clone();
        async move { store.lease_due(&node, at, at.plus_seconds(120), 1000).await.must("lease_due") }
    };
    assert!(mine(lease(a.clone(), now).await).is_empty(), "nothing to deliver yet");

    h.posted(channel.id, alice.id, "m1", "deployed").await;
    assert_eq!(mine(lease(a.clone(), now).await).len(), 1, "due, and node a takes it");
    assert!(mine(lease(b.clone(), now).await).is_empty(), "while a holds it, b does not");
    assert_eq!(mine(lease(a.clone(), now).await).len(), 1, "a renews its own");
    let later = now.plus_seconds(121);
    assert_eq!(mine(lease(b.clone(), later).await).len(), 1, "a's lease ran out: b takes it");

    let waiting = Delivery {
        delivered_seq: channel.last_seq,
        failing_since: Some(later),
        last_error: Some("the receiver answered 503".to_owned()),
        attempts: 2,
        next_attempt_at: Some(later.plus_seconds(60)),
    };
    let until = later.plus_seconds(120);
    assert!(!h.store.record_delivery(hook.id, &a, until, &waiting).await.must("record"), "a lost it to b");
    assert_eq!(h.store.outgoing(hook.id).await.must("outgoing").map(|x| x.delivery), Some(hook.delivery.clone()));
    assert!(h.store.record_delivery(hook.id, &b, until, &waiting).await.must("record_delivery"));
    assert_eq!(h.store.outgoing(hook.id).await.must("outgoing").map(|x| x.delivery), Some(waiting.clone()));
    assert!(mine(lease(b.clone(), later.plus_seconds(30)).await).is_empty(), "a retry waits");
    assert_eq!(mine(lease(b.clone(), later.plus_seconds(61)).await).len(), 1, "then it is due");
    let done = Delivery { delivered_seq: channel.last_seq + 1, ..Delivery::default() };
    assert!(h.store.record_delivery(hook.id, &b, until, &done).await.must("record_delivery"));
    assert!(mine(lease(b.clone(), later.plus_seconds(62)).await).is_empty(), "all delivered");
    assert_eq!(h.store.outgoing_of(channel.id).await.must("outgoing_of").len(), 1);
    h.store.delete_outgoing(hook.id).await.must("delete_outgoing");
    assert_eq!(h.store.outgoing(hook.id).await.must("outgoing"), None);
}

/// Export reads every user (with their hash) and every channel that is not
/// deleted, a page at a time by id, each membership with its read marker and
/// preferences, and whom each message told; import's replay stores events
/// under the ids and times it is given.
pub async fn export_reads_everything(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = h.channel(&alice, ChannelKind::Private, "room").await;
    let gone = h.channel(&alice, ChannelKind::Public, "gone").await;
    h.join(room.id, bob.id).await;
    h.posted(room.id, alice.id, "m1", "hi").await;
    h.store.mark_read(room.id, bob.id, 3).await.must("mark_read");
    let delete = parley_core::command::Command::Change {
        channel: gone.id,
        actor: alice.id,
        client_msg_id: parley_core::parse::ClientMsgId::parse("d1").must("a key"),
        change: parley_core::command::Change::DeleteChannel,
        server_admin: true,
    };
    h.sequencer.submit(delete).await.must("delete");

    let (mut users, mut after) = (Vec::new(), None);
    loop {
        let page = h.store.export_users(after, 1).await.must("export_users");
        assert!(page.len() <= 1, "a page at most limit long");
        let Some((last, _)) = page.last() else { break };
        assert!(after.is_none_or(|a| last.id > a), "by id");
        after = Some(last.id);
        users.extend(page);
    }
    let mine: Vec<(UserId, String)> =
        users.into_iter().filter(|(u, _)| [alice.id, bob.id].contains(&u.id)).map(|(u, hash)| (u.id, hash)).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.contains(&(alice.id, "hash-alice".to_owned())), "with their hashes: {mine:?}");

    let mut channels = Vec::new();
    let mut after = None;
    loop {
        let page = h.store.export_channels(after, 2).await.must("export_channels");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        channels.extend(page);
    }
    assert!(channels.iter().any(|c| c.id == room.id), "a private channel");
    assert!(channels.iter().all(|c| c.id != gone.id), "not a deleted one");
    h.store.set_preferences(room.id, bob.id, Some(Notify::All), Some(true)).await.must("set_preferences");
    let members = h.store.export_members(room.id).await.must("export_members");
    let read: Vec<(UserId, i64, Option<Notify>, bool)> =
        members.iter().map(|m| (m.member.user.id, m.last_read_seq, m.notify, m.muted)).collect();
    assert_eq!(read, sorted_by_id(vec![(alice.id, 1, None, false), (bob.id, 3, Some(Notify::All), true)]));

    // Stored at the time and under the id given, as `parley import` replays.
    let (id, at) = (EventId::generate(), Timestamp::from_millis(1_600_000_000_123));
    let mention = format!("hi @{}", bob.username);
    let command = super::harness::post(room.id, alice.id, "m2", &mention);
    let stamp = Stamp { at, ids: vec![id] };
    let applied = h.store.replay(vec![command], vec![stamp]).await.must("replay");
    let event = applied.events.first().expect("one event");
    assert_eq!((event.id, event.created_at, event.seq), (id, at, 4));
    assert_eq!(h.store.events_after(room.id, 3, 1).await.must("events_after")[0].id, id, "as stored");
    assert_eq!(h.store.export_told(room.id).await.must("export_told"), vec![(4, bob.id)]);
}

fn sorted_by_id<T>(mut rows: Vec<(UserId, i64, T, bool)>) -> Vec<(UserId, i64, T, bool)> {
    rows.sort_by_key(|row| row.0);
    rows
}
