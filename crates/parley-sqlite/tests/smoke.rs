//! A first end-to-end check: the real Sequencer over a real SQLite file.

use std::sync::Arc;

use parley_core::command::Command;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, EventKind, Role, User};
use parley_core::parse::{Body, ClientMsgId, Username};
use parley_core::ports::{ChannelStore, EventLog, Health, UserStore};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_sqlite::SqliteStore;

fn user(name: &str) -> User {
    User {
        id: UserId::generate(),
        username: Username::parse(name).unwrap(),
        display_name: name.to_owned(),
        created_at: Timestamp::now(),
        role: parley_core::model::ServerRole::Member,
        deactivated_at: None,
        bot: false,
    }
}

/// A public channel `general` made by `owner`, before the Sequencer creates it.
fn general(owner: UserId) -> Channel {
    Channel {
        id: ChannelId::generate(),
        kind: ChannelKind::Public,
        name: "general".to_owned(),
        topic: String::new(),
        created_at: Timestamp::now(),
        created_by: owner,
        dm_key: None,
        last_seq: 0,
        member_count: 0,
        archived_at: None,
    }
}

fn post(channel: ChannelId, sender: UserId, client_msg_id: &str, body: &str) -> Command {
    Command::Post {
        channel,
        sender,
        client_msg_id: ClientMsgId::parse(client_msg_id).unwrap(),
        body: Body::parse(body).unwrap(),
        reply_to_seq: None,
        broadcast: Vec::new(),
    }
}

#[tokio::test]
async fn sequencer_appends_dedupes_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let (sequencer, task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, Arc::new(|_| {}));

    let (alice, bob) = (user("Alice"), user("bob"));
    store.create_user(&alice, "hash-a", &parley_core::accounts::Admission::by_owner()).await.unwrap();
    store.create_user(&bob, "hash-b", &parley_core::accounts::Admission::by_owner()).await.unwrap();
    let shouted = store.create_user(&user("ALICE"), "x", &parley_core::accounts::Admission::by_owner()).await;
    assert_eq!(shouted.unwrap_err().code, parley_core::ErrorCode::Conflict);

    let channel = general(alice.id);
    let created = sequencer
        .submit(Command::Create {
            channel: channel.clone(),
            members: vec![(alice.id, Role::Owner), (bob.id, Role::Member)],
        })
        .await
        .unwrap();
    assert!(created.created);
    assert_eq!(created.events.len(), 2);

    let mut first = None;
    for i in 1..=5 {
        let sender = if i % 2 == 0 { bob.id } else { alice.id };
        let appended =
            sequencer.submit(post(channel.id, sender, &format!("m{i}"), &format!("hello {i}"))).await.unwrap();
        assert!(appended.created);
        assert_eq!(appended.events[0].seq, 2 + i);
        first.get_or_insert(appended.events[0].clone());
    }
    let retry = sequencer.submit(post(channel.id, alice.id, "m1", "hello again")).await.unwrap();
    assert!(!retry.created);
    assert_eq!(retry.events, vec![first.clone().unwrap()]);

    let all = store.events_after(channel.id, 0, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=7).collect::<Vec<_>>());
    assert_eq!(all[2], first.unwrap());
    assert!(matches!(all[0].kind, EventKind::MemberJoined { user_id } if user_id == alice.id));
    assert!(matches!(&all[6].kind, EventKind::Message { body, .. } if body == "hello 5"));
    let tail = store.events_before(channel.id, None, 2).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![6, 7]);
    let middle = store.events_before(channel.id, Some(4), 10).await.unwrap();
    assert_eq!(middle.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);

    let stored = store.channel(channel.id).await.unwrap().unwrap();
    assert_eq!((stored.last_seq, stored.member_count), (7, 2));
    let mine = store.my_channels(bob.id).await.unwrap();
    assert_eq!((mine.len(), mine[0].last_read_seq, mine[0].unread_count), (1, 2, 3), "read from his join");

    drop(sequencer);
    task.await.unwrap();
    store.close().await;
}

/// The WAL is copied back into the database file in the background, well
/// before the WAL grows to the size at which a commit would do it itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let (sequencer, task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, Arc::new(|_| {}));
    let alice = user("alice");
    store.create_user(&alice, "hash", &parley_core::accounts::Admission::by_owner()).await.unwrap();
    let channel = general(alice.id);
    sequencer
        .submit(Command::Create { channel: channel.clone(), members: vec![(alice.id, Role::Owner)] })
        .await
        .unwrap();
    let db_size = || std::fs::metadata(dir.path().join(parley_sqlite::DB_FILE)).unwrap().len();
    let before = db_size();

    // About 2 MB of messages: far below the 64 MiB at which a commit checkpoints.
    let body = "x".repeat(1_000);
    let posts = (0..2_000).map(|i| post(channel.id, alice.id, &format!("m{i}"), &body)).collect();
    for appended in sequencer.submit_all(posts).await {
        assert!(appended.unwrap().created);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while db_size() < before + 2_000_000 {
        assert!(std::time::Instant::now() < deadline, "the database file stayed at {} bytes", db_size());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    drop(sequencer);
    task.await.unwrap();
    store.close().await;
}

/// Messages stored before search existed (migration 0008 lists them) are
/// indexed when the store next opens, newest first as they were stored.
#[tokio::test]
async fn messages_from_before_search_are_indexed_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let (sequencer, task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, Arc::new(|_| {}));
    let alice = user("alice");
    store.create_user(&alice, "hash", &parley_core::accounts::Admission::by_owner()).await.unwrap();
    let channel = general(alice.id);
    sequencer
        .submit(Command::Create { channel: channel.clone(), members: vec![(alice.id, Role::Owner)] })
        .await
        .unwrap();
    for i in 1..=3 {
        sequencer.submit(post(channel.id, alice.id, &format!("m{i}"), &format!("older words {i}"))).await.unwrap();
    }
    drop(sequencer);
    task.await.unwrap();
    store.close().await;

    // As a store from before search: no numbers, no words, every message listed.
    let url = format!("sqlite://{}", dir.path().join("parley.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "UPDATE events SET search_rowid = NULL; DELETE FROM message_words; \
         INSERT INTO search_backlog (channel_id, seq) SELECT channel_id, seq FROM events WHERE type = 'message';",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();

    let store = SqliteStore::open(dir.path()).await.unwrap();
    let query = parley_core::fulltext::SearchQuery::parse("older words").unwrap();
    let search = parley_core::ports::Search {
        user: alice.id,
        query: &query,
        channel: None,
        sender: None,
        before: None,
        limit: 10,
    };
    let found = store.search(&search).await.unwrap();
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3, 2], "every one, newest first");
    store.close().await;
}
