//! Checks of names that look like another user's: refused at registration
//! and rename, one step with the write even when sent at once.

use std::sync::Arc;

use parley_core::accounts::Admission;
use parley_core::model::User;
use parley_core::names::NameClash;
use parley_core::parse::Username;
use parley_core::ports::Store;
use parley_core::{Error, Result};

use super::harness::{Harness, Must};

fn new_user(username: &str, display_name: &str) -> User {
    User::new(Username::parse(username).expect("a valid test username"), display_name.to_owned())
}

/// The refusal an answer must be: `Conflict`, with the message of `clash`.
#[track_caller]
fn assert_clash(result: Result<()>, clash: NameClash, what: &str) {
    let want = Error::from(clash);
    match result {
        Ok(()) => panic!("{what}: accepted, expected {want}"),
        Err(e) => assert_eq!((e.code, e.message.as_str()), (want.code, want.message.as_str()), "{what}"),
    }
}

/// A username or display name that looks like another user's username or
/// display name is refused (a username taken outright says so), and nothing
/// is stored; a user may take a display name that looks like their own
/// username, and keep the one they have.
pub async fn users_look_alike_names_conflict(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let tag = h.name("");
    let alice = new_user(&h.name("alice"), &format!("{tag} Wonderland"));
    h.store.create_user(&alice, "hash", &Admission::by_owner()).await.must("create_user");

    let cases = [
        (h.name("alice"), "Someone".to_owned(), NameClash::UsernameTaken, "the same username"),
        (h.name("a1ice"), "Someone".to_owned(), NameClash::UsernameLooksTaken, "1 for l in a username"),
        (h.name("bob"), format!("{tag}\u{0430}lice"), NameClash::DisplayNameLooksTaken, "Cyrillic а"),
        (h.name("bob"), h.name("ALICE"), NameClash::DisplayNameLooksTaken, "upper case"),
        (h.name("bob"), format!("{tag} W\u{043E}nderland"), NameClash::DisplayNameLooksTaken, "another's display name"),
        (h.name("wonder"), format!("{tag}  Wonderland"), NameClash::DisplayNameLooksTaken, "a space more"),
    ];
    for (username, display_name, clash, what) in cases {
        let refused = new_user(&username, &display_name);
        assert_clash(h.store.create_user(&refused, "hash", &Admission::by_owner()).await.map(drop), clash, what);
        assert_eq!(h.store.user(refused.id).await.must("user"), None, "{what}: not stored");
    }
    let taken_display = new_user(&h.name("wonderland"), &h.name("wonderland"));
    h.store.create_user(&taken_display, "hash", &Admission::by_owner()).await.must("a name alike nobody's");
    let refused = new_user(&format!("{tag}wonderla"), &format!("{tag} WONDERLAND"));
    assert_clash(
        h.store.create_user(&refused, "hash", &Admission::by_owner()).await.map(drop),
        NameClash::DisplayNameLooksTaken,
        "case of a display name",
    );

    let bob = new_user(&h.name("bob"), &h.name("Bob"));
    h.store.create_user(&bob, "hash", &Admission::by_owner()).await.must("a display name like my own username");
    for (name, what) in [
        (h.name("AIice"), "a capital I for l"),
        (format!("{tag} Wonderland"), "another's display name"),
        (h.name("wonderland"), "another's username"),
    ] {
        assert_clash(h.store.set_display_name(bob.id, &name).await, NameClash::DisplayNameLooksTaken, what);
    }
    let unchanged = h.store.user(bob.id).await.must("user").map(|u| u.display_name);
    assert_eq!(unchanged, Some(h.name("Bob")), "a refused name is not stored");

    h.store.set_display_name(alice.id, &h.name("ALICE")).await.must("my own username, in capitals");
    h.store.set_display_name(alice.id, &h.name("ALICE")).await.must("the name I have");
    h.store.set_display_name(bob.id, &format!("{tag} Wonderland")).await.must("a name alice has let go of");
    h.store.set_display_name(bob.id, &h.name("b0b")).await.must("my username, an o as 0");
}

/// Look-alike names written at once, from as many tasks, are stored one at a
/// time: exactly one of each race wins, the rest are refused.
pub async fn users_look_alike_names_race(store: Arc<dyn Store>) {
    const RACERS: usize = 8;
    let h = &Harness::new(store);
    // Eight usernames drawn alike: each l may be a 1 and each o a 0.
    let spellings = ["lol", "1ol", "l0l", "10l", "lo1", "1o1", "l01", "101"];
    let registering = spellings.map(|s| {
        let (store, user) = (h.store.clone(), new_user(&h.name(s), &h.name(s)));
        tokio::spawn(async move { store.create_user(&user, "hash", &Admission::by_owner()).await })
    });
    let mut won = 0;
    for task in registering {
        match task.await.expect("a registration task") {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.message, Error::from(NameClash::UsernameLooksTaken).message, "{e}"),
        }
    }
    assert_eq!(won, 1, "one of {RACERS} look-alike usernames");

    let mut renamers = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        renamers.push(h.user(&format!("renamer{i}")).await);
    }
    let tag = h.name("");
    // One name, in other cases and with letters of other scripts drawn alike.
    let names =
        ["Racer", "Rac\u{0435}r", "Ra\u{0441}er", "R\u{0430}cer", "RACER", "Racer", "racer", "R\u{0430}c\u{0435}r"];
    let renaming: Vec<_> = renamers
        .iter()
        .zip(names)
        .map(|(user, name)| {
            let (store, id, name) = (h.store.clone(), user.id, format!("{tag} {name}"));
            tokio::spawn(async move { store.set_display_name(id, &name).await })
        })
        .collect();
    let mut won = 0;
    for task in renaming {
        match task.await.expect("a rename task") {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.message, Error::from(NameClash::DisplayNameLooksTaken).message, "{e}"),
        }
    }
    assert_eq!(won, 1, "one of {RACERS} look-alike display names");
}
