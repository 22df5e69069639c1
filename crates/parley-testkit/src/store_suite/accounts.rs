//! Checks of users and sessions.

use std::sync::Arc;

use parley_core::id::UserId;
use parley_core::model::{Session, User};
use parley_core::parse::Username;
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;

use super::harness::{code_of, Harness, Must};

/// A user is found by id and, with its password hash, by username; the store
/// answers `ping`.
pub async fn users_create_and_lookup(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    h.store.ping().await.must("ping");
    let alice = User {
        id: UserId::generate(),
        username: Username::parse(&h.name("Alice")).expect("valid"),
        display_name: "Alice Ünïcode 😀".to_owned(),
        created_at: Timestamp::now(),
    };
    h.store.create_user(&alice, "$argon2id$v=19$hash").await.must("create_user");

    assert_eq!(h.store.user(alice.id).await.must("user"), Some(alice.clone()), "user by id");
    assert_eq!(h.store.user(UserId::generate()).await.must("user"), None, "unknown id");

    let shouted = Username::parse(&h.name("ALICE")).expect("valid");
    let found = h.store.credentials(&shouted).await.must("credentials");
    assert_eq!(found, Some((alice.clone(), "$argon2id$v=19$hash".to_owned())), "credentials by username");
    let nobody = Username::parse(&h.name("nobody")).expect("valid");
    assert_eq!(h.store.credentials(&nobody).await.must("credentials"), None, "unknown username");
}

/// A taken username is `Conflict`, and the first user is left as it was.
pub async fn users_duplicate_username_conflicts(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let first = h.user("dup").await;
    let second = User { id: UserId::generate(), display_name: "Impostor".to_owned(), ..first.clone() };
    let code = code_of(h.store.create_user(&second, "other-hash").await, "create_user with a taken username");
    assert_eq!(code, ErrorCode::Conflict, "a taken username");

    assert_eq!(h.store.user(second.id).await.must("user"), None, "the refused user is not stored");
    let found = h.store.credentials(&first.username).await.must("credentials");
    assert_eq!(found, Some((first, "hash-dup".to_owned())), "the first user is untouched");
}

/// Search is by prefix, ordered by username, bounded by `limit`, and `_`, `%`
/// and `\` in a prefix are plain characters, not patterns.
pub async fn users_search_by_prefix(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    for name in ["alpha2", "al_ice", "alxice", "alphabet", "alpha1", "bob"] {
        h.user(name).await;
    }
    let search = |prefix: String, limit: u32| {
        let store = h.store.clone();
        async move {
            let users = store.search_users(&prefix, limit).await.must("search_users");
            users.into_iter().map(|u| u.username.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    let names = |names: &[&str]| names.iter().map(|n| h.name(n)).collect::<Vec<_>>();

    let all = search(h.name("al"), 10).await;
    assert_eq!(all, names(&["al_ice", "alpha1", "alpha2", "alphabet", "alxice"]), "prefix, by username");
    assert_eq!(search(h.name("alpha"), 2).await, names(&["alpha1", "alpha2"]), "limit keeps the first");
    assert_eq!(search(h.name("bob"), 10).await, names(&["bob"]), "a whole username is a prefix");
    assert_eq!(search(h.name("al_"), 10).await, names(&["al_ice"]), "`_` is literal");
    assert_eq!(search(h.name("al%"), 10).await, Vec::<String>::new(), "`%` is literal");
    assert_eq!(search(h.name("a\\"), 10).await, Vec::<String>::new(), "`\\` is literal");
    assert_eq!(search("%".to_owned(), 10).await, Vec::<String>::new(), "`%` alone matches nothing");
    let underscored = search("_".to_owned(), 50).await;
    assert!(underscored.iter().all(|u| u.starts_with('_')), "`_` alone matches only `_…`: {underscored:?}");
    assert_eq!(search(h.name("zzz"), 10).await, Vec::<String>::new(), "no match");
}

/// A new display name shows in every lookup.
pub async fn users_set_display_name(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    h.store.set_display_name(alice.id, "Alice in Wonderland ✨").await.must("set_display_name");

    let renamed = User { display_name: "Alice in Wonderland ✨".to_owned(), ..alice.clone() };
    assert_eq!(h.store.user(alice.id).await.must("user"), Some(renamed.clone()), "by id");
    let found = h.store.credentials(&alice.username).await.must("credentials");
    assert_eq!(found.map(|(u, _)| u), Some(renamed), "by username");
    assert_eq!(h.store.user(bob.id).await.must("user"), Some(bob), "others are untouched");
}

/// A session is found by its token hash until it expires or is deleted.
pub async fn sessions_lifecycle(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let now = Timestamp::now();
    let session = Session {
        token_hash: h.name("token-a"),
        user_id: alice.id,
        created_at: now,
        expires_at: now.plus_seconds(3600),
    };
    h.store.create_session(&session).await.must("create_session");
    let other = Session { token_hash: h.name("token-b"), user_id: bob.id, ..session.clone() };
    h.store.create_session(&other).await.must("create_session");

    let user_at = |hash: String, at: Timestamp| {
        let store = h.store.clone();
        async move { store.session_user(&hash, at).await.must("session_user") }
    };
    assert_eq!(user_at(h.name("token-a"), now).await, Some(alice.clone()), "a live session");
    assert_eq!(user_at(h.name("token-b"), now).await, Some(bob.clone()), "each token its user");
    let last_ms = Timestamp::from_millis(session.expires_at.millis() - 1);
    assert_eq!(user_at(h.name("token-a"), last_ms).await, Some(alice.clone()), "just before expiry");
    let past = Timestamp::from_millis(session.expires_at.millis() + 1);
    assert_eq!(user_at(h.name("token-a"), past).await, None, "just after expiry");
    assert_eq!(user_at(h.name("token-a"), now.plus_seconds(7200)).await, None, "long expired");
    assert_eq!(user_at(h.name("token-x"), now).await, None, "unknown token");

    h.store.delete_session(&h.name("token-a")).await.must("delete_session");
    assert_eq!(user_at(h.name("token-a"), now).await, None, "a deleted session");
    assert_eq!(user_at(h.name("token-b"), now).await, Some(bob), "other sessions stay");
    h.store.delete_session(&h.name("token-a")).await.must("deleting twice is not an error");
}
