//! Checks that the queries that must scale can use the indexes they were
//! written for: an index probe per key of a batch, a range for a page of
//! history, never only a table scan.
//!
//! Runs in one transaction on the test server that is rolled back at the end:
//! the schema is created in a scratch schema of its own (DDL is
//! transactional), so nothing is left behind and concurrent runs do not meet.
//! Sequential scans are disabled, so a query that cannot use an index still
//! shows a `Seq Scan`.

use sqlx::{Connection, PgConnection, Postgres};
use uuid::Uuid;

use crate::{channels, events, names};

const SCHEMA: [&str; 11] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_unique_channel_names.sql"),
    include_str!("../migrations/0003_user_display_words.sql"),
    include_str!("../migrations/0004_user_name_skeletons.sql"),
    include_str!("../migrations/0005_message_changes.sql"),
    include_str!("../migrations/0006_member_preferences.sql"),
    include_str!("../migrations/0007_mentions.sql"),
    include_str!("../migrations/0008_search.sql"),
    include_str!("../migrations/0009_accounts.sql"),
    include_str!("../migrations/0010_moderation.sql"),
    include_str!("../migrations/0011_bots.sql"),
];

/// A query's parameters, bound by kind.
#[derive(Clone, Copy)]
enum Param {
    Id,
    Ids,
    Texts,
    TextOne,
    Int,
    Ints,
    Times,
}

async fn plan(conn: &mut PgConnection, sql: &str, params: &[Param]) -> String {
    let explain = format!("EXPLAIN {sql}");
    let mut query = sqlx::query_as::<Postgres, (String,)>(&explain);
    for param in params {
        query = match param {
            Param::Id => query.bind(Uuid::nil()),
            Param::Ids => query.bind(vec![Uuid::nil(), Uuid::max()]),
            Param::Texts => query.bind(vec!["a", "b"]),
            Param::TextOne => query.bind("a"),
            Param::Int => query.bind(10_i64),
            Param::Ints => query.bind(vec![1_i64, 2]),
            Param::Times => query.bind(vec![chrono::DateTime::<chrono::Utc>::UNIX_EPOCH; 2]),
        };
    }
    let lines = query.fetch_all(&mut *conn).await.unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
    lines.into_iter().map(|(line,)| line).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn hot_queries_use_their_indexes() {
    use Param::*;
    let url = parley_testkit::services::database_url();
    let mut conn = PgConnection::connect(&url).await.expect("connect to the test server");
    let mut tx = conn.begin().await.expect("begin");
    let schema = format!("parley_plans_{}", Uuid::now_v7().simple());
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}; SET LOCAL search_path = {schema}; SET LOCAL enable_seqscan = off"))
        .execute(&mut *tx)
        .await
        .expect("a scratch schema");
    for migration in SCHEMA {
        sqlx::raw_sql(migration).execute(&mut *tx).await.expect("the schema");
    }

    // Each case: the query, its parameters, and an index its plan must use.
    let cases: &[(&str, &str, &[Param], &str)] = &[
        ("heads", events::HEADS, &[Ids], "channels_pkey"),
        ("memberships", events::MEMBERSHIPS, &[Ids, Ids], "members_pkey"),
        ("find_posts", events::FIND_POSTS, &[Ids, Ids, Texts], "events_dedupe"),
        ("find_dm", events::FIND_DM, &[TextOne], "channels_dm_key_key"),
        ("find_named", events::FIND_NAMED, &[Texts], "channels_by_name"),
        ("change_members", events::CHANGE_MEMBERS, &[Ids, Ids, Ids, Ids, Texts, Times, Ints], "members_pkey"),
        ("set_heads", events::SET_HEADS, &[Ids, Ints], "channels_pkey"),
        ("events_after", events::EVENTS_AFTER, &[Id, Int, Int], "events_pkey"),
        ("events_before", events::EVENTS_BEFORE, &[Id, Int, Int], "events_pkey"),
        ("targets", events::TARGETS, &[Ids, Ints], "events_pkey"),
        ("reactions_on", events::REACTIONS_ON, &[Ids, Ints], "reactions_pkey"),
        ("pin_counts", events::PIN_COUNTS, &[Ids], "events_pins"),
        ("reactions", events::REACTIONS, &[Id, Ints], "reactions_pkey"),
        ("thread", events::THREAD, &[Id, Int, Int, Int], "events_thread"),
        ("pins", events::PINS, &[Id], "events_pins"),
        ("users_named", events::USERS_NAMED, &[Texts], "users_username_key"),
        ("drop_mentions", events::DROP_MENTIONS, &[Id, Int], "mentions_of_message"),
        ("mentions", events::MENTIONS, &[Id, Id, Int], "mentions_newest"),
        ("my_channels", channels::MY_CHANNELS, &[Id], "members_by_user"),
        ("my_channels: mentions", channels::MY_CHANNELS, &[Id], "mentions_pkey"),
        ("my_channel", channels::MY_CHANNEL, &[Id, Id], "members_pkey"),
        ("dm", channels::DM, &[TextOne], "channels_dm_key_key"),
        ("members", channels::MEMBERS, &[Id], "members_pkey"),
        ("dm_shown", channels::DM_SHOWN, &[Id], "members_by_user"),
        ("dm_shown: who wrote", channels::DM_SHOWN, &[Id], "events_dedupe"),
        ("presence_peers", channels::PRESENCE_PEERS, &[Id, Int], "members_by_user"),
        ("presence_peers: who wrote", channels::PRESENCE_PEERS, &[Id, Int], "events_dedupe"),
        ("public_channels", channels::PUBLIC_CHANNELS, &[TextOne, TextOne, Int], "channels_public_by_name"),
        ("channel_named", channels::NAMED, &[TextOne], "channels_by_name"),
        ("look_alikes", names::LOOK_ALIKES, &[Id, Texts], "users_by_username_skeleton"),
        ("look_alikes", names::LOOK_ALIKES, &[Id, Texts], "users_by_display_skeleton "),
        ("look_alikes", names::LOOK_ALIKES, &[Id, Texts], "users_by_display_skeleton_caseless"),
        // Not here: `users::SEARCH_USERS` reads every user, by design.
    ];
    for (name, sql, params, index) in cases {
        let plan = plan(&mut tx, sql, params).await;
        assert!(plan.contains(index), "{name}: does not use {index}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{name}: a table scan:\n{plan}");
    }
    tx.rollback().await.expect("rollback");
}
