//! Full-text search through the rules (`Chat::search`): words without case
//! or diacritics, the last a prefix, phrases, every operator, only the
//! channels the searcher is in now, edits found by their new text and
//! deletes never, newest first in pages.

use std::sync::Arc;

use parley_core::chat::SearchPage;
use parley_core::command::{Change, Command};
use parley_core::id::UserId;
use parley_core::model::{ChannelKind, Event};
use parley_core::parse::{Body, ClientMsgId, PageLimit};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;

use super::harness::{code_of, Harness, Must};

/// The bodies `user` finds with `q`, newest first.
async fn found(h: &Harness, user: UserId, q: &str) -> Vec<String> {
    let page = h.chat.search(user, q, None, PageLimit::parse(Some(50)).must("limit")).await.must(q);
    bodies(&page)
}

fn bodies(page: &SearchPage) -> Vec<String> {
    page.results.iter().map(|f| body(&f.placed.event)).collect()
}

fn body(event: &Event) -> String {
    match &event.kind {
        parley_core::model::EventKind::Message { body, .. } => body.clone(),
        other => panic!("not a message: {other:?}"),
    }
}

/// A day as the query language writes it, `days` from today (UTC).
fn day(days: i64) -> String {
    Timestamp::now().plus_seconds(days * 86_400).to_rfc3339()[..10].to_owned()
}

/// Words, prefixes, phrases, diacritics and every operator; only my channels.
pub async fn search_words_phrases_and_operators(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let general = h.channel(&alice, ChannelKind::Public, "general").await;
    let secret = h.channel(&alice, ChannelKind::Private, "secret").await;
    h.join(general.id, bob.id).await;
    h.posted(general.id, alice.id, "m1", "Deploy the release notes on Friday").await;
    h.posted(general.id, bob.id, "m2", "Crème brûlée: https://example.com/recipe").await;
    h.posted(secret.id, alice.id, "m3", "deploy the secret plans").await;
    h.posted(general.id, bob.id, "m4", "notes about the release").await;
    let (m1, m2, m4) =
        ("Deploy the release notes on Friday", "Crème brûlée: https://example.com/recipe", "notes about the release");

    assert_eq!(found(h, bob.id, "deploy").await, [m1], "not the private channel bob is not in");
    assert_eq!(found(h, alice.id, "DEPLOY").await, ["deploy the secret plans", m1], "newest first, any case");
    assert_eq!(found(h, bob.id, "release notes").await, [m4, m1], "every word, in any order");
    assert_eq!(found(h, bob.id, "\"release notes\"").await, [m1], "a phrase: in a row");
    assert_eq!(found(h, bob.id, "creme BRULEE").await, [m2], "without diacritics");
    assert_eq!(found(h, bob.id, "crème").await, [m2]);
    assert_eq!(found(h, bob.id, "fri").await, [m1], "the last word is a prefix");
    assert!(found(h, bob.id, "fri ").await.is_empty(), "a whole word when a space follows");
    assert!(found(h, bob.id, "nothing-like-it").await.is_empty());

    let username = |u: &parley_core::model::User| u.username.as_str().to_owned();
    assert_eq!(found(h, alice.id, &format!("from:@{}", username(&bob))).await, [m4, m2]);
    assert_eq!(found(h, alice.id, &format!("release from:@{}", username(&alice))).await, [m1]);
    assert!(found(h, alice.id, "from:@nobody_at_all").await.is_empty(), "an unknown sender finds nothing");
    let (general_name, secret_name) = (general.name.clone(), secret.name.clone());
    assert_eq!(found(h, bob.id, &format!("in:#{general_name} deploy")).await, [m1]);
    assert_eq!(
        found(h, alice.id, &format!("in:#{} deploy", secret_name.to_uppercase())).await,
        ["deploy the secret plans"]
    );
    assert!(found(h, bob.id, &format!("in:#{secret_name} deploy")).await.is_empty(), "not by naming it either");
    assert_eq!(found(h, bob.id, "has:link").await, [m2]);
    assert_eq!(found(h, bob.id, &format!("before:{} after:{} release", day(1), day(-1))).await, [m4, m1]);
    assert!(found(h, bob.id, &format!("before:{} release", day(0))).await.is_empty(), "before today began");
    assert!(found(h, bob.id, &format!("after:{} release", day(0))).await.is_empty(), "after today ends");

    let code = code_of(h.chat.search(bob.id, "before:someday", None, PageLimit::parse(None).must("limit")).await, "q");
    assert_eq!(code, ErrorCode::BadRequest);
}

/// An edit is found by its new text, a delete never; a channel left is not
/// searched; pages go back by the last result's id.
pub async fn search_follows_edits_deletes_and_membership(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let channel = h.channel(&alice, ChannelKind::Public, "changing").await;
    h.join(channel.id, bob.id).await;
    let first = h.posted(channel.id, alice.id, "m1", "quarterly numbers draft").await;
    let second = h.posted(channel.id, alice.id, "m2", "quarterly numbers final").await;
    let change = |id: &str, change: Change| {
        let client_msg_id = ClientMsgId::parse(id).must("id");
        h.sequencer.submit(Command::Change {
            channel: channel.id,
            actor: alice.id,
            client_msg_id,
            change,
            server_admin: false,
        })
    };
    let edit =
        Change::Edit { target: first.seq, body: Body::parse("annual figures").must("body"), broadcast: Vec::new() };
    change("e1", edit).await.must("edit");
    assert_eq!(found(h, bob.id, "quarterly").await, ["quarterly numbers final"], "not by its old text");
    assert_eq!(found(h, bob.id, "figures").await, ["annual figures"], "by its new text");
    change("d1", Change::Delete { target: second.seq }).await.must("delete");
    assert!(found(h, bob.id, "quarterly").await.is_empty(), "a deleted message is never found");

    for n in 0..5 {
        h.posted(channel.id, alice.id, &format!("p{n}"), &format!("paged item {n}")).await;
    }
    let limit = PageLimit::parse(Some(2)).must("limit");
    let page = h.chat.search(bob.id, "paged", None, limit).await.must("page");
    assert_eq!((bodies(&page), page.has_more), (vec!["paged item 4".to_owned(), "paged item 3".to_owned()], true));
    let before = page.results.last().map(|f| (f.placed.event.channel_id, f.placed.event.seq));
    let page = h.chat.search(bob.id, "paged", before, limit).await.must("page 2");
    assert_eq!(bodies(&page), ["paged item 2", "paged item 1"]);
    assert_eq!(page.results[0].highlights, [(0, 5)], "where it matches, in characters");

    h.leave(channel.id, bob.id).await;
    assert!(found(h, bob.id, "paged").await.is_empty(), "a channel bob left is not searched");
}
