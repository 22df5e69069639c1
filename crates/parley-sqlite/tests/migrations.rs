//! Migrating a database written by an earlier version: channel names that
//! repeat are renamed before they become unique, users get the display
//! words people search, and the look-alike keys of their names.

use std::path::Path;

use parley_core::names::NameClash;
use parley_core::ports::{ChannelStore, Health, UserStore};
use parley_core::search::PeopleQuery;
use parley_core::time::Timestamp;
use parley_sqlite::SqliteStore;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// The first migration alone, as the first release made the database.
async fn first_release(db: &Path) -> SqliteConnection {
    migrated_by(db, &["0001_init.sql"]).await
}

/// The database as the given migrations alone leave it.
async fn migrated_by(db: &Path, migrations: &[&str]) -> SqliteConnection {
    let scripts = tempfile::tempdir().unwrap();
    for migration in migrations {
        let path = format!("{}/migrations/{migration}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(path, scripts.path().join(migration)).unwrap();
    }
    let options = SqliteConnectOptions::new().filename(db).create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    Migrator::new(scripts.path()).await.unwrap().run(&mut conn).await.unwrap();
    conn
}

#[tokio::test]
async fn repeated_channel_names_are_renamed_and_users_get_their_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = first_release(&dir.path().join(parley_sqlite::DB_FILE)).await;
    let owner = "01900000-0000-7000-8000-000000000001";
    sqlx::query("INSERT INTO users VALUES (?1, 'owner', 'Émile Zola', 'hash', 0)")
        .bind(owner)
        .execute(&mut conn)
        .await
        .unwrap();
    let long_x = "x".repeat(80);
    let spaced = format!("{} bc", "a".repeat(77));
    // (id's last digits, kind, name, created_at): created in this order, except
    // that the id breaks a tie of times.
    let channels = [
        ("000000000010", "public", "general", 10),
        ("000000000011", "private", "General", 11),
        ("000000000012", "public", "GENERAL", 12),
        ("000000000009", "public", "general-2", 9),
        ("000000000021", "public", long_x.as_str(), 20),
        ("000000000020", "public", &long_x.to_uppercase(), 20),
        ("000000000030", "private", spaced.as_str(), 30),
        ("000000000031", "public", spaced.as_str(), 31),
        ("000000000040", "direct", "", 40),
        ("000000000041", "direct", "", 41),
        ("000000000050", "public", "solo", 50),
    ];
    for (tail, kind, name, at) in &channels {
        let dm_key = (*kind == "direct").then(|| format!("dm-{tail}"));
        sqlx::query("INSERT INTO channels (id, kind, name, topic, created_at, created_by, dm_key) VALUES (?1, ?2, ?3, '', ?4, ?5, ?6)")
            .bind(format!("01900000-0000-7000-8000-{tail}"))
            .bind(kind)
            .bind(name)
            .bind(at)
            .bind(owner)
            .bind(dm_key)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();

    let store = SqliteStore::open(dir.path()).await.expect("the migrations apply");
    let name_of = |tail: &str| {
        let store = store.clone();
        let id = format!("01900000-0000-7000-8000-{tail}").parse().unwrap();
        async move { store.channel(id).await.unwrap().unwrap().name }
    };
    assert_eq!(name_of("000000000010").await, "general", "the oldest keeps its name");
    assert_eq!(name_of("000000000011").await, "General-000000000011", "`General-2` is taken: the id's digits");
    assert_eq!(name_of("000000000012").await, "GENERAL-3", "the third");
    assert_eq!(name_of("000000000009").await, "general-2", "not a repeat");
    assert_eq!(name_of("000000000020").await, long_x.to_uppercase(), "the same time: the smaller id is older");
    assert_eq!(name_of("000000000021").await, format!("{}-2", "x".repeat(78)), "cut to stay within 80");
    assert_eq!(name_of("000000000030").await, spaced);
    assert_eq!(name_of("000000000031").await, format!("{}-2", "a".repeat(77)), "no space left before the suffix");
    assert_eq!(name_of("000000000040").await, "", "DMs keep no name");
    assert_eq!(name_of("000000000041").await, "");
    assert_eq!(name_of("000000000050").await, "solo");

    let general = store.channel_named("GeneraL").await.unwrap().map(|c| c.name);
    assert_eq!(general.as_deref(), Some("general"), "names are now unique and found ignoring case");
    let found = store.search_users(&PeopleQuery::parse("émi").unwrap(), 20).await.unwrap();
    assert_eq!(found.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["owner"], "words filled in");
    store.close().await;

    // Opening again migrates nothing more and keeps every name.
    let store = SqliteStore::open(dir.path()).await.expect("opens again");
    assert_eq!(store.channel_named("general-3").await.unwrap().map(|c| c.name).as_deref(), Some("GENERAL-3"));
    store.close().await;
}

/// Users from before whose names look alike keep them, and get the keys that
/// refuse the next look-alike.
#[tokio::test]
async fn users_from_before_keep_look_alike_names_and_get_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = migrated_by(
        &dir.path().join(parley_sqlite::DB_FILE),
        &["0001_init.sql", "0002_unique_channel_names.sql", "0003_user_display_words.sql"],
    )
    .await;
    let users =
        [("000000000001", "alice", "Alice"), ("000000000002", "a1ice", "Alice"), ("000000000003", "bob", "Bob")];
    for (tail, username, display_name) in users {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, 'hash', 0)",
        )
        .bind(format!("01900000-0000-7000-8000-{tail}"))
        .bind(username)
        .bind(display_name)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let store = SqliteStore::open(dir.path()).await.expect("the migrations apply");
    let id = |tail: &str| format!("01900000-0000-7000-8000-{tail}").parse().unwrap();
    let a1ice = store.user(id("000000000002")).await.unwrap().expect("kept");
    assert_eq!(a1ice.display_name, "Alice", "a look-alike from before is not refused after the fact");
    store.set_display_name(a1ice.id, "Alice").await.expect("and may keep the name it has");

    let newcomer = parley_core::model::User {
        id: parley_core::id::UserId::generate(),
        username: parley_core::parse::Username::parse("b0b").unwrap(),
        display_name: "Newcomer".to_owned(),
        created_at: Timestamp::now(),
        role: parley_core::model::ServerRole::Member,
        deactivated_at: None,
        bot: false,
    };
    let refused =
        store.create_user(&newcomer, "hash", &parley_core::accounts::Admission::by_owner()).await.unwrap_err();
    assert_eq!(refused.message, parley_core::Error::from(NameClash::UsernameLooksTaken).message, "keys filled in");
    let refused = store.set_display_name(id("000000000003"), "A1ice").await.unwrap_err();
    assert_eq!(refused.message, parley_core::Error::from(NameClash::DisplayNameLooksTaken).message);
    store.close().await;
}
