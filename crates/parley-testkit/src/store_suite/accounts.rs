//! Checks of users, people search and sessions.

use std::sync::Arc;

use parley_core::accounts::Admission;
use parley_core::id::UserId;
use parley_core::model::{Session, User};
use parley_core::parse::Username;
use parley_core::ports::Store;
use parley_core::search::PeopleQuery;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;

use super::harness::{code_of, Harness, Must};

/// A user is found by id and, with its password hash, by username; the store
/// answers `ping`.
pub async fn users_create_and_lookup(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    h.store.ping().await.must("ping");
    let username = Username::parse(&h.name("Alice")).expect("valid");
    let mut alice = User::new(username, format!("Alice Ünïcode 😀 {}", h.name("")));
    let admitted = h.store.create_user(&alice, "$argon2id$v=19$hash", &Admission::by_owner()).await.must("create_user");
    alice.role = admitted.role;

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
    let refused = h.store.create_user(&second, "other-hash", &Admission::by_owner()).await;
    let code = code_of(refused, "create_user with a taken username");
    assert_eq!(code, ErrorCode::Conflict, "a taken username");

    assert_eq!(h.store.user(second.id).await.must("user"), None, "the refused user is not stored");
    let found = h.store.credentials(&first.username).await.must("credentials");
    assert_eq!(found, Some((first, "hash-dup".to_owned())), "the first user is untouched");
}

/// Searches `query` and gives the usernames found that `h` made, without its
/// tag: checks may share a store, and words such as "jones" are anyone's.
async fn found(h: &Harness, query: &str, limit: u32) -> Vec<String> {
    let query = PeopleQuery::parse(query).expect("a valid query");
    let users = h.store.search_users(&query, limit).await.must("search_users");
    users.into_iter().filter_map(|u| u.username.as_str().strip_prefix(&h.name("")).map(str::to_owned)).collect()
}

/// Makes a user `<tag><name>` called `display_name` and the tag, a word of
/// its own (no two users' names may look alike, whichever check made them).
async fn person(h: &Harness, name: &str, display_name: &str) -> User {
    let username = Username::parse(&h.name(name)).expect("a valid test username");
    let mut user = User::new(username, format!("{display_name} {}", h.name("")));
    user.role = h.store.create_user(&user, "hash", &Admission::by_owner()).await.must("create_user").role;
    user
}

/// A username prefix finds, ordered by username, bounded by `limit`; `_`,
/// `%` and `\` in a query are plain characters, not patterns; an empty query
/// finds everyone.
pub async fn users_search_by_prefix(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    for name in ["alpha2", "al_ice", "alxice", "alphabet", "alpha1", "bob"] {
        h.user(name).await;
    }
    let search = |query: String, limit: u32| {
        let store = h.store.clone();
        async move {
            let query = PeopleQuery::parse(&query).expect("a valid query");
            let users = store.search_users(&query, limit).await.must("search_users");
            users.into_iter().map(|u| u.username.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    let names = |names: &[&str]| names.iter().map(|n| h.name(n)).collect::<Vec<_>>();

    let all = search(h.name("al"), 10).await;
    assert_eq!(all, names(&["al_ice", "alpha1", "alpha2", "alphabet", "alxice"]), "prefix, by username");
    assert_eq!(search(h.name("AL").to_uppercase(), 10).await, all, "ignoring case");
    assert_eq!(search(h.name("alpha"), 2).await, names(&["alpha1", "alpha2"]), "limit keeps the first");
    assert_eq!(search(h.name("bob"), 10).await, names(&["bob"]), "a whole username is a prefix");
    assert_eq!(search(h.name("al_"), 10).await, names(&["al_ice"]), "`_` is literal");
    assert_eq!(search(h.name("al%"), 10).await, Vec::<String>::new(), "`%` is literal");
    assert_eq!(search(h.name("a\\"), 10).await, Vec::<String>::new(), "`\\` is literal");
    assert_eq!(search("%".to_owned(), 10).await, Vec::<String>::new(), "`%` alone matches nothing");
    let underscored = search("_".to_owned(), 50).await;
    let literal = |u: &String| u.starts_with('_') || ["__", "._", "-_"].iter().any(|s| u.contains(s));
    assert!(underscored.iter().all(literal), "`_` alone matches only a `_` starting a part: {underscored:?}");
    assert_eq!(search(h.name("zzz"), 10).await, Vec::<String>::new(), "no match");
    let everyone = search(String::new(), 500).await;
    assert!(names(&["alpha1", "bob"]).iter().all(|n| everyone.contains(n)), "an empty query finds everyone");
    assert!(everyone.windows(2).all(|w| w[0] < w[1]), "by username: {everyone:?}");
}

/// A query also finds the start of a later part of a username, after a `_`,
/// `.` or `-` (`jones` finds `mary.jones`), ignoring case; not a part's middle.
pub async fn users_search_username_parts(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    for (n, name) in ["mary.jones", "pat_jones", "kim-jonesy", "bojones", "jo.nes"].into_iter().enumerate() {
        person(h, name, &format!("Someone {n}")).await;
    }
    let parts = ["kim-jonesy", "mary.jones", "pat_jones"];
    assert_eq!(found(h, "jones", 50).await, parts, "after `.`, `_` and `-`, by username; not inside `bojones`");
    assert_eq!(found(h, "JONES", 50).await, parts, "ignoring case");
    assert_eq!(found(h, "jon", 50).await, parts, "the start of a part");
    assert_eq!(found(h, "nes", 50).await, ["jo.nes"], "only where a part starts");
    assert_eq!(found(h, "y.jo", 50).await, Vec::<String>::new(), "not from inside a part");
    assert_eq!(found(h, "jones_x", 50).await, Vec::<String>::new());
    assert_eq!(found(h, &h.name("mary.j"), 50).await, ["mary.jones"], "`.` in a username prefix");
}

/// A query finds the start of any word of a display name, ignoring case
/// (Unicode's, not only ASCII's): `ali` and `smi` find "Dr Alice Smith", so
/// does `dr ali`; `lice` does not, nor `ali-` (a whole word). A new display
/// name is searched at once.
pub async fn users_search_display_words(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = person(h, "p1", "Dr Alice Smith").await;
    let alicia = person(h, "p2", "Alicia Keys").await;
    person(h, "p3", "Émile Zola").await;
    person(h, "p4", "Mary-Jane O'Neil 🎸").await;
    person(h, "p5", "Malice Aforethought").await;

    assert_eq!(found(h, "ali", 50).await, ["p1", "p2"], "the start of a first or later word, by username");
    assert_eq!(found(h, "smi", 50).await, ["p1"]);
    assert_eq!(found(h, "SMITH", 50).await, ["p1"], "ignoring case");
    assert_eq!(found(h, "Dr Ali", 50).await, ["p1"], "words in a row");
    assert_eq!(found(h, "alice  smi", 50).await, ["p1"], "spaces between words do not count");
    assert_eq!(found(h, "lice", 50).await, Vec::<String>::new(), "not from inside a word");
    assert_eq!(found(h, "smith alice", 50).await, Vec::<String>::new(), "words in their order");
    assert_eq!(found(h, "alice-", 50).await, ["p1"], "ending after a word: that whole word");
    assert_eq!(found(h, "ali-", 50).await, Vec::<String>::new(), "no display name has the word `ali`");
    assert_eq!(found(h, "émi", 50).await, ["p3"]);
    assert_eq!(found(h, "ÉMILE", 50).await, ["p3"], "ignoring the case of non-ASCII letters too");
    assert_eq!(found(h, "emile", 50).await, Vec::<String>::new(), "accents are letters of their own");
    assert_eq!(found(h, "jane", 50).await, ["p4"], "a word after a hyphen");
    assert_eq!(found(h, "mary-jane", 50).await, ["p4"]);
    assert_eq!(found(h, "o'nei", 50).await, ["p4"]);
    assert_eq!(found(h, "neil", 50).await, ["p4"], "a word after an apostrophe");
    assert_eq!(found(h, "%", 50).await, Vec::<String>::new(), "`%` is no pattern in display names either");
    assert_eq!(found(h, "_", 50).await, Vec::<String>::new());

    h.store.set_display_name(alicia.id, &format!("Keys Only {}", h.name(""))).await.must("set_display_name");
    assert_eq!(found(h, "ali", 50).await, ["p1"], "the old name's words are gone");
    assert_eq!(found(h, "only", 50).await, ["p2"], "the new name's words are there");
    assert_eq!(h.store.user(alice.id).await.must("user").map(|u| u.display_name), Some(alice.display_name));
}

/// Username-prefix matches come first, then the others, each by username;
/// `limit` applies to that order.
pub async fn users_search_order(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let tag = h.name("");
    person(h, "zoe", &format!("{tag}Anna Zoe")).await;
    person(h, "ann", "Ann").await;
    person(h, &format!("bo_{tag}anne"), "Bo").await;
    person(h, "andy", "Andy").await;
    person(h, "amy", "Amy").await;

    let query = h.name("AN");
    let in_order = ["andy".to_owned(), "ann".to_owned(), format!("bo_{tag}anne"), "zoe".to_owned()];
    assert_eq!(found(h, &query, 50).await, in_order, "prefixes (andy, ann), then a part, then a display word");
    assert_eq!(found(h, &query, 3).await, in_order[..3], "limit keeps the first");
    assert_eq!(found(h, &query, 1).await, in_order[..1]);
}

/// A new display name shows in every lookup.
pub async fn users_set_display_name(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let name = format!("Alice in Wonderland ✨ {}", h.name(""));
    h.store.set_display_name(alice.id, &name).await.must("set_display_name");

    let renamed = User { display_name: name, ..alice.clone() };
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
        last_seen_at: now,
        user_agent: Some("Mozilla/5.0 (test) ✨".to_owned()),
    };
    h.store.create_session(&session).await.must("create_session");
    let other = Session { token_hash: h.name("token-b"), user_id: bob.id, ..session.clone() };
    h.store.create_session(&other).await.must("create_session");

    let user_at = |hash: String, at: Timestamp| {
        let store = h.store.clone();
        async move { store.session_user(&hash, at).await.must("session_user").map(|(user, _)| user) }
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
