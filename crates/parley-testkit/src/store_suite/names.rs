//! Checks of channel names: one channel per name, ignoring ASCII case, public and private alike.

use std::sync::Arc;

use parley_core::command::Command;
use parley_core::feed::{EventFeed, LocalFeed};
use parley_core::model::{Channel, ChannelKind, EventKind, Role};
use parley_core::parse::ChannelName;
use parley_core::ports::Store;
use parley_core::processor::{process, Processed};
use parley_core::ErrorCode;

use super::harness::{code_of, new_channel, Harness, Must};

fn create(channel: &Channel) -> Command {
    Command::Create { channel: channel.clone(), members: vec![(channel.created_by, Role::Owner)] }
}

/// A name a public or private channel has, in any ASCII case, is `conflict`,
/// through the Sequencer and through `Chat`, and the refused channel is not
/// stored. DMs have no name; non-ASCII letters keep their case; the same
/// create again (a command processed twice) is the channel it made.
pub async fn channels_names_unique(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let general = h.channel(&alice, ChannelKind::Public, "General").await;

    for (kind, name) in [(ChannelKind::Public, "GENERAL"), (ChannelKind::Private, "general")] {
        let channel = new_channel(bob.id, kind, &h.name(name));
        let error = h.sequencer.submit(create(&channel)).await.expect_err("a taken name");
        assert_eq!(error.code, ErrorCode::Conflict, "{name}");
        assert_eq!(error.message, format!("a channel named \"{}\" already exists", h.name(name)));
        assert_eq!(h.store.channel(channel.id).await.must("channel"), None, "a refused channel is not stored");
    }
    // Through Chat, as the server does it.
    let name = ChannelName::parse(&format!("  {}  ", h.name("GeNeRaL"))).expect("valid");
    let made = h.chat.create_channel(bob.id, name, ChannelKind::Private, None).await;
    assert_eq!(code_of(made, "create_channel under a taken name"), ErrorCode::Conflict);

    // A private channel's name is taken for a public one too.
    h.channel(&alice, ChannelKind::Private, "secret").await;
    let name = ChannelName::parse(&h.name("Secret")).expect("valid");
    let made = h.chat.create_channel(bob.id, name, ChannelKind::Public, None).await;
    assert_eq!(code_of(made, "a public channel named as a private one"), ErrorCode::Conflict);

    let named = |name: String| async move { h.store.channel_named(&name).await.must("channel_named") };
    assert_eq!(named(h.name("gENERAL")).await, Some(h.load(general.id).await), "found in any ASCII case");
    assert_eq!(named(h.name("nothing")).await, None);

    // DMs have no name: any number of them, and none is found by it.
    let carol = h.user("carol").await;
    let one = h.chat.open_dm(alice.id, &[bob.id]).await.must("open_dm");
    let two = h.chat.open_dm(bob.id, &[carol.id]).await.must("open_dm");
    assert_ne!(one.id, two.id);
    assert_eq!(named(String::new()).await, None, "a DM is not found by its empty name");

    // Only ASCII letters fold.
    h.channel(&alice, ChannelKind::Public, "Été").await;
    h.channel(&bob, ChannelKind::Public, "été").await;

    let again = h.sequencer.submit(create(&general)).await.must("the same create again");
    assert_eq!((again.channel_id, again.created, again.events.len()), (general.id, false, 0));
    assert_eq!(h.log(general.id).await.len(), 1, "nothing appended");
}

/// Two channels of one name in one batch: the first is created, the second
/// refused, and the rest of the batch is stored as usual.
pub async fn channels_names_unique_within_one_batch(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let first = new_channel(alice.id, ChannelKind::Public, &h.name("twins"));
    let second = new_channel(bob.id, ChannelKind::Private, &h.name("TWINS"));
    let other = new_channel(bob.id, ChannelKind::Public, &h.name("other"));

    let results = h.in_one_batch(vec![create(&first), create(&second), create(&other)]).await;
    assert!(results[0].as_ref().is_ok_and(|a| a.created && a.channel_id == first.id), "{:?}", results[0]);
    assert_eq!(results[1].as_ref().map_err(|e| e.code).err(), Some(ErrorCode::Conflict), "{:?}", results[1]);
    assert!(results[2].as_ref().is_ok_and(|a| a.created && a.channel_id == other.id), "{:?}", results[2]);
    assert_eq!(h.store.channel(second.id).await.must("channel"), None);
    assert_eq!(h.load(other.id).await.member_count, 1);
}

/// The processor drops a create whose name is taken, with a log line, and
/// succeeds: the command is not tried again and again. Processed a second
/// time (a crash before its commit), the step gives the same answer.
pub async fn processor_refuses_a_taken_name_for_good(store: Arc<dyn Store>) {
    let h = &Harness::new(store);
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let first = new_channel(alice.id, ChannelKind::Public, &h.name("room"));
    let second = new_channel(bob.id, ChannelKind::Public, &h.name("Room"));
    let feed = LocalFeed::default();
    let mut subscription = feed.subscribe().await.must("subscribe");

    let done = process(&h.sequencer, &feed, vec![create(&first), create(&second)]).await.must("the step");
    assert_eq!(done, Processed { published: 1, refused: 1 });
    let batch = subscription.next().await.must("a published batch");
    assert_eq!(batch.len(), 1);
    assert_eq!((batch[0].channel_id, &batch[0].kind), (first.id, &EventKind::MemberJoined { user_id: alice.id }));

    let again = process(&h.sequencer, &feed, vec![create(&first), create(&second)]).await.must("the step again");
    assert_eq!(again, Processed { published: 0, refused: 1 });
    assert_eq!(h.store.channel(second.id).await.must("channel"), None);
    assert_eq!(h.log(first.id).await.len(), 1, "stored once");
}
