//! What PostgreSQL adds to the suite: several writers at once (a zombie
//! partition owner, two nodes creating one name), the last guards of the log,
//! error mapping, migrations and timestamps at the edges.

use std::time::Duration;

use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, ChannelKind, Event, EventKind, Role, User};
use parley_core::names::NameClash;
use parley_core::parse::Username;
use parley_core::ports::{ChannelHead, ChannelStore, Health, MemberChange, PostKey, UserStore};
use parley_core::search::PeopleQuery;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;
use parley_postgres::PostgresStore;
use parley_testkit::services::ScratchDb;
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgConnection};

/// How long a writer that should be blocked is given to (wrongly) get through.
const BLOCKED_FOR: Duration = Duration::from_millis(300);

async fn store() -> (PostgresStore, ScratchDb) {
    let db = ScratchDb::create().await;
    let store = PostgresStore::connect(&db.url).await.expect("connect");
    (store, db)
}

async fn user(store: &PostgresStore, name: &str, created_at: Timestamp) -> User {
    let mut user = User {
        id: UserId::generate(),
        username: Username::parse(name).expect("valid"),
        display_name: name.to_owned(),
        created_at,
        role: parley_core::model::ServerRole::Member,
        deactivated_at: None,
        bot: false,
    };
    let admitted = store.create_user(&user, "hash", &parley_core::accounts::Admission::by_owner()).await;
    user.role = admitted.expect("create_user").role;
    user
}

/// A public channel named after its id (names are unique), or a DM with `dm_key`.
fn channel(owner: &User, dm_key: Option<String>) -> Channel {
    let id = ChannelId::generate();
    Channel {
        id,
        kind: if dm_key.is_some() { ChannelKind::Direct } else { ChannelKind::Public },
        name: if dm_key.is_some() { String::new() } else { format!("general-{id}") },
        topic: String::new(),
        created_at: Timestamp::now(),
        created_by: owner.id,
        dm_key,
        last_seq: 0,
        member_count: 0,
        archived_at: None,
    }
}

fn message(channel: ChannelId, sender: UserId, seq: i64, client_msg_id: &str) -> Event {
    Event {
        channel_id: channel,
        seq,
        id: EventId::generate(),
        sender_id: sender,
        created_at: Timestamp::now(),
        kind: EventKind::Message {
            body: "hi".to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            reply_to_seq: None,
            mentions: Default::default(),
            state: Default::default(),
        },
    }
}

/// A channel owned by `owner` with its join at seq 1, written as the Sequencer would.
async fn seeded_channel(store: &PostgresStore, owner: &User) -> ChannelId {
    let channel = channel(owner, None);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_channel(&channel).await.expect("insert_channel");
    let add = MemberChange::Add {
        channel: channel.id,
        user: owner.id,
        role: Role::Owner,
        at: Timestamp::now(),
        read_through: 1,
    };
    tx.change_members(&[add]).await.expect("change_members");
    let joined = Event { kind: EventKind::MemberJoined { user_id: owner.id }, ..message(channel.id, owner.id, 1, "") };
    tx.insert_events(&[joined]).await.expect("insert_events");
    tx.set_heads(&[ChannelHead { id: channel.id, last_seq: 1, state: Default::default() }]).await.expect("set_heads");
    tx.commit().await.expect("commit");
    channel.id
}

/// A second writer of a channel (a zombie after a rebalance) waits at `heads`
/// until the first commits, then sees its head and its messages: it numbers
/// after them and dedupes against them instead of colliding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_writer_waits_for_the_head_and_sees_the_first() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let id = seeded_channel(&store, &alice).await;

    let mut first = store.begin().await.expect("begin");
    assert_eq!(first.heads(&[id]).await.expect("heads"), [ChannelHead { id, last_seq: 1, state: Default::default() }]);

    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let heads = tx.heads(&[id]).await.expect("heads");
            (tx, heads)
        })
    };
    tokio::time::sleep(BLOCKED_FOR).await;
    assert!(!second.is_finished(), "the second writer waits for the first's head lock");

    let posted = message(id, alice.id, 2, "k1");
    first.insert_events(std::slice::from_ref(&posted)).await.expect("insert_events");
    first.set_heads(&[ChannelHead { id, last_seq: 2, state: Default::default() }]).await.expect("set_heads");
    first.commit().await.expect("commit");

    let (mut second, heads) = second.await.expect("second writer");
    assert_eq!(
        heads,
        [ChannelHead { id, last_seq: 2, state: Default::default() }],
        "the head as the first writer left it"
    );
    let key = PostKey { channel_id: id, sender_id: alice.id, client_msg_id: "k1" };
    assert_eq!(second.find_posts(&[key]).await.expect("find_posts"), [posted], "the first writer's message");
    let members = second.memberships(&[(id, alice.id)]).await.expect("memberships");
    assert_eq!(members, [(id, alice.id, Role::Owner)]);
}

/// Writers of different channels do not wait for each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_other_channels_do_not_wait() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let (one, two) = (seeded_channel(&store, &alice).await, seeded_channel(&store, &alice).await);
    let mut first = store.begin().await.expect("begin");
    first.heads(&[one]).await.expect("heads");
    let mut second = store.begin().await.expect("begin");
    let heads = tokio::time::timeout(BLOCKED_FOR, second.heads(&[two])).await.expect("not blocked");
    assert_eq!(heads.expect("heads"), [ChannelHead { id: two, last_seq: 1, state: Default::default() }]);
}

/// Should two writers ever append without the head lock, the log's keys stop
/// the second: the same seq, or the same message key, is `conflict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_keys_are_the_last_guard() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let id = seeded_channel(&store, &alice).await;

    let mut tx = store.begin().await.expect("begin");
    tx.insert_events(&[message(id, alice.id, 2, "k1")]).await.expect("insert_events");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let same_seq = tx.insert_events(&[message(id, alice.id, 2, "k2")]).await;
    assert_eq!(same_seq.map_err(|e| e.code), Err(ErrorCode::Conflict), "seq 2 is taken");

    let mut tx = store.begin().await.expect("begin");
    let same_key = tx.insert_events(&[message(id, alice.id, 3, "k1")]).await;
    assert_eq!(same_key.map_err(|e| e.code), Err(ErrorCode::Conflict), "k1 is stored");

    let mut tx = store.begin().await.expect("begin");
    let back = tx.set_heads(&[ChannelHead { id, last_seq: 1, state: Default::default() }]).await;
    assert_eq!(back.map_err(|e| e.code), Err(ErrorCode::Internal), "a head never goes back");
}

/// Two writers creating the same DM: the second waits for the first's
/// commit and finds its channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_creators_are_serialised_on_the_key() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let dm = channel(&alice, Some("a,b".to_owned()));

    let mut first = store.begin().await.expect("begin");
    assert_eq!(first.find_dm("a,b").await.expect("find_dm"), None);
    let second = {
        let store = store.clone();
        tokio::spawn(async move { store.begin().await.expect("begin").find_dm("a,b").await.expect("find_dm") })
    };
    tokio::time::sleep(BLOCKED_FOR).await;
    assert!(!second.is_finished(), "the second creator waits for the key");
    first.insert_channel(&dm).await.expect("insert_channel");
    first.commit().await.expect("commit");
    assert_eq!(second.await.expect("second"), Some(dm.id), "and then finds the first's channel");
}

/// Two writers creating channels of one name (in any ASCII case): the second
/// waits for the first's commit and finds its channel. Should a writer insert
/// the name without asking, the unique index refuses it, `conflict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_creators_are_serialised_on_the_name() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let first_channel = Channel { name: "Town Square".to_owned(), ..channel(&alice, None) };
    let keys = vec!["town square".to_owned(), "elsewhere".to_owned()];

    let mut first = store.begin().await.expect("begin");
    assert_eq!(first.find_named(&keys).await.expect("find_named"), []);
    let second = {
        let (store, keys) = (store.clone(), keys.clone());
        tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let found = tx.find_named(&keys).await.expect("find_named");
            (tx, found)
        })
    };
    tokio::time::sleep(BLOCKED_FOR).await;
    assert!(!second.is_finished(), "the second creator waits for the name");
    first.insert_channel(&first_channel).await.expect("insert_channel");
    first.commit().await.expect("commit");
    let (mut second, found) = second.await.expect("second");
    assert_eq!(found, [("town square".to_owned(), first_channel.id)], "and then finds the first's channel");

    let unasked = Channel { name: "TOWN SQUARE".to_owned(), ..channel(&alice, None) };
    let refused = second.insert_channel(&unasked).await;
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::Conflict), "the unique index is the last guard");
}

/// Membership changes of one batch apply in order, in one statement: the
/// last change of each pair wins, and a leave then a join is a new membership.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_changes_apply_in_order() {
    let (store, _db) = store().await;
    let alice = user(&store, "alice", Timestamp::now()).await;
    let bob = user(&store, "bob", Timestamp::now()).await;
    let id = seeded_channel(&store, &alice).await;
    parley_core::ports::ChannelStore::mark_read(&store, id, alice.id, 1).await.expect("mark_read");

    let at = Timestamp::from_millis(Timestamp::now().millis() + 1000);
    let mut tx = store.begin().await.expect("begin");
    let changes = [
        MemberChange::Remove { channel: id, user: alice.id },
        MemberChange::Add { channel: id, user: bob.id, role: Role::Member, at, read_through: 0 },
        MemberChange::Add { channel: id, user: alice.id, role: Role::Member, at, read_through: 0 },
        MemberChange::Remove { channel: id, user: bob.id },
    ];
    tx.change_members(&changes).await.expect("change_members");
    tx.commit().await.expect("commit");

    let members = parley_core::ports::ChannelStore::members(&store, id).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].user.id, members[0].role, members[0].joined_at), (alice.id, Role::Member, at));
    let mine = parley_core::ports::ChannelStore::my_channels(&store, alice.id).await.expect("my_channels");
    assert_eq!(mine[0].last_read_seq, 0, "a new membership starts unread");
}

/// Milliseconds round-trip exactly, before the epoch and far from now too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_round_trip_in_milliseconds() {
    let (store, _db) = store().await;
    for (name, ms) in [("early", -1), ("epoch", 0), ("odd", 1_700_000_000_123), ("later", 253_402_300_799_999)] {
        let created = user(&store, name, Timestamp::from_millis(ms)).await;
        let found = store.user(created.id).await.expect("user").expect("stored");
        assert_eq!(found.created_at.millis(), ms, "{name}");
    }
}

/// A server that does not answer is `unavailable`; a malformed URL is
/// refused without repeating it (it may hold a password).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_are_mapped() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let refused = PostgresStore::connect("postgres://parley:secret@127.0.0.1:1/parley").await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unavailable, "{refused}");
    assert!(!refused.message.contains("secret"), "{refused}");
    let malformed = PostgresStore::connect("postgres://parley:secret@127.0.0.1:notaport/x").await.unwrap_err();
    assert_eq!(malformed.code, ErrorCode::Internal, "{malformed}");
    assert!(!malformed.message.contains("secret"), "{malformed}");
}

/// Migrating is idempotent, and a migrated database opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_then_connect() {
    let db = ScratchDb::create().await;
    PostgresStore::migrate(&db.url).await.expect("migrate");
    PostgresStore::migrate(&db.url).await.expect("migrate again");
    let store = PostgresStore::connect(&db.url).await.expect("connect");
    parley_core::ports::Health::ping(&store).await.expect("ping");
    store.close().await;
}

/// A database the first release made, with channel names that repeat,
/// migrates: the oldest keeps each name, later ones get a suffix (the same
/// renames as on SQLite), and users get the display words people search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_channel_names_are_renamed_by_the_migration() {
    let db = ScratchDb::create().await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let scripts = tempfile::tempdir().expect("a temporary directory");
    let init = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0001_init.sql");
    std::fs::copy(init, scripts.path().join("0001_init.sql")).expect("copy");
    Migrator::new(scripts.path()).await.expect("the first migration").run(&mut conn).await.expect("run");

    let owner = "01900000-0000-7000-8000-000000000001".parse::<uuid::Uuid>().expect("uuid");
    sqlx::query("INSERT INTO users VALUES ($1, 'owner', 'Émile Zola', 'hash', now())")
        .bind(owner)
        .execute(&mut conn)
        .await
        .expect("a user");
    let long_x = "x".repeat(80);
    // (id's last digits, kind, name, seconds after the epoch): the id breaks a tie of times.
    let channels = [
        ("000000000010", "public", "general", 10),
        ("000000000011", "private", "General", 11),
        ("000000000012", "public", "GENERAL", 12),
        ("000000000009", "public", "general-2", 9),
        ("000000000021", "public", long_x.as_str(), 20),
        ("000000000020", "public", &long_x.to_uppercase(), 20),
        ("000000000040", "direct", "", 40),
        ("000000000041", "direct", "", 41),
    ];
    for (tail, kind, name, at) in &channels {
        let dm_key = (*kind == "direct").then(|| format!("dm-{tail}"));
        sqlx::query(
            "INSERT INTO channels (id, kind, name, topic, created_at, created_by, dm_key) \
             VALUES ($1::uuid, $2, $3, '', to_timestamp($4), $5, $6)",
        )
        .bind(format!("01900000-0000-7000-8000-{tail}"))
        .bind(kind)
        .bind(name)
        .bind(f64::from(*at))
        .bind(owner)
        .bind(dm_key)
        .execute(&mut conn)
        .await
        .expect("a channel");
    }
    conn.close().await.expect("close");

    let store = PostgresStore::connect(&db.url).await.expect("the migrations apply");
    let name_of = |tail: &str| {
        let store = store.clone();
        let id = format!("01900000-0000-7000-8000-{tail}").parse().expect("an id");
        async move { store.channel(id).await.expect("channel").expect("stored").name }
    };
    assert_eq!(name_of("000000000010").await, "general", "the oldest keeps its name");
    assert_eq!(name_of("000000000011").await, "General-000000000011", "`General-2` is taken: the id's digits");
    assert_eq!(name_of("000000000012").await, "GENERAL-3", "the third");
    assert_eq!(name_of("000000000009").await, "general-2", "not a repeat");
    assert_eq!(name_of("000000000020").await, long_x.to_uppercase(), "the same time: the smaller id is older");
    assert_eq!(name_of("000000000021").await, format!("{}-2", "x".repeat(78)), "cut to stay within 80");
    assert_eq!(name_of("000000000040").await, "", "DMs keep no name");
    assert_eq!(name_of("000000000041").await, "");

    let general = store.channel_named("GeneraL").await.expect("channel_named").map(|c| c.name);
    assert_eq!(general.as_deref(), Some("general"), "names are now unique and found ignoring case");
    let found = store.search_users(&PeopleQuery::parse("émi").expect("valid"), 20).await.expect("search_users");
    assert_eq!(found.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["owner"], "words filled in");
    store.close().await;
}

/// Users from before migration 0004 whose names look alike keep them, and
/// get the keys that refuse the next look-alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_from_before_keep_look_alike_names_and_get_their_keys() {
    let db = ScratchDb::create().await;
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let scripts = tempfile::tempdir().expect("a temporary directory");
    for migration in ["0001_init.sql", "0002_unique_channel_names.sql", "0003_user_display_words.sql"] {
        let path = format!("{}/migrations/{migration}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(path, scripts.path().join(migration)).expect("copy");
    }
    Migrator::new(scripts.path()).await.expect("migrations 1-3").run(&mut conn).await.expect("run");
    let users =
        [("000000000001", "alice", "Alice"), ("000000000002", "a1ice", "Alice"), ("000000000003", "bob", "Bob")];
    for (tail, username, display_name) in users {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) \
             VALUES ($1::uuid, $2, $3, 'hash', now())",
        )
        .bind(format!("01900000-0000-7000-8000-{tail}"))
        .bind(username)
        .bind(display_name)
        .execute(&mut conn)
        .await
        .expect("a user");
    }
    conn.close().await.expect("close");

    let store = PostgresStore::connect(&db.url).await.expect("the migrations apply");
    let id = |tail: &str| format!("01900000-0000-7000-8000-{tail}").parse::<UserId>().expect("an id");
    let a1ice = store.user(id("000000000002")).await.expect("user").expect("kept");
    assert_eq!(a1ice.display_name, "Alice", "a look-alike from before is not refused after the fact");
    store.set_display_name(a1ice.id, "Alice").await.expect("and may keep the name it has");

    let newcomer = User {
        id: UserId::generate(),
        username: Username::parse("b0b").expect("valid"),
        display_name: "Newcomer".to_owned(),
        created_at: Timestamp::now(),
        role: parley_core::model::ServerRole::Member,
        deactivated_at: None,
        bot: false,
    };
    let refused = store
        .create_user(&newcomer, "hash", &parley_core::accounts::Admission::by_owner())
        .await
        .expect_err("b0b looks like bob");
    assert_eq!(refused.message, parley_core::Error::from(NameClash::UsernameLooksTaken).message, "keys filled in");
    let refused = store.set_display_name(id("000000000003"), "A1ice").await.expect_err("looks like alice");
    assert_eq!(refused.message, parley_core::Error::from(NameClash::DisplayNameLooksTaken).message);
    store.close().await;
}

/// Messages stored before search existed (migration 0008 lists them) are
/// indexed, a chunk at a time, when the schema is next migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_before_search_are_indexed_by_the_next_migration() {
    let (store, db) = store().await;
    let owner = user(&store, "owner", Timestamp::now()).await;
    let channel = seeded_channel(&store, &owner).await;
    let mut tx = store.begin().await.expect("begin");
    let messages: Vec<Event> = (2..=4).map(|seq| message(channel, owner.id, seq, &format!("m{seq}"))).collect();
    tx.insert_events(&messages).await.expect("insert_events");
    tx.set_heads(&[ChannelHead { id: channel, last_seq: 4, state: Default::default() }]).await.expect("set_heads");
    tx.commit().await.expect("commit");

    // As a store from before search: nothing indexed, every message listed.
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql(
        "DELETE FROM message_search; \
         INSERT INTO search_backlog (channel_id, seq) SELECT channel_id, seq FROM events WHERE type = 'message';",
    )
    .execute(&mut conn)
    .await
    .expect("as before search");
    conn.close().await.expect("close");

    PostgresStore::migrate(&db.url).await.expect("migrate");
    let query = parley_core::fulltext::SearchQuery::parse("hi").expect("a query");
    let search = parley_core::ports::Search {
        user: owner.id,
        query: &query,
        channel: None,
        sender: None,
        before: None,
        limit: 10,
    };
    let found = parley_core::ports::EventLog::search(&store, &search).await.expect("search");
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3, 2], "every one, newest first");
    store.close().await;
}
