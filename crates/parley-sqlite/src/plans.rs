//! Checks that the queries that must scale use the indexes they were written
//! for: an index probe per key, no table scan.

use sqlx::SqlitePool;

use crate::{channels, events, names, search, SqliteStore};

/// The `detail` lines of `EXPLAIN QUERY PLAN`, with `?1`… bound to `params`.
async fn plan(pool: &SqlitePool, sql: &str, params: &[&str]) -> Vec<String> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
    for p in params {
        query = query.bind(*p);
    }
    query.fetch_all(pool).await.unwrap().into_iter().map(|row| row.3).collect()
}

#[tokio::test]
async fn hot_queries_probe_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    // Each case: the query, and the start of each line its plan must have.
    let cases: &[(&str, &str, &[&str])] = &[
        ("head", events::HEAD, &["SEARCH c USING PRIMARY KEY (id=?)"]),
        ("membership", events::MEMBERSHIP, &["SEARCH m USING"]),
        ("find_post", events::FIND_POST, &["SEARCH e USING INDEX events_dedupe"]),
        ("find_dm", events::FIND_DM, &["SEARCH c USING INDEX"]),
        ("find_named", events::FIND_NAMED, &["SEARCH c USING INDEX channels_by_name"]),
        ("set_head", events::SET_HEAD, &["SEARCH channels USING PRIMARY KEY (id=?)"]),
        ("remove_member", events::REMOVE_MEMBER, &["SEARCH members USING"]),
        ("events_after", events::EVENTS_AFTER, &["SEARCH e USING PRIMARY KEY (channel_id=? AND seq>?)"]),
        ("events_before", events::EVENTS_BEFORE, &["SEARCH e USING PRIMARY KEY (channel_id=? AND seq<?)"]),
        ("target", events::TARGET, &["SEARCH e USING PRIMARY KEY (channel_id=? AND seq=?)"]),
        ("reactions_on", events::REACTIONS_ON, &["SEARCH r USING PRIMARY KEY (channel_id=? AND seq=?)"]),
        ("pin_count", events::PIN_COUNT, &["SEARCH e USING COVERING INDEX events_pins (channel_id=?"]),
        ("reactions", events::REACTIONS, &["SEARCH r USING PRIMARY KEY (channel_id=? AND seq>? AND seq<?)"]),
        ("thread", events::THREAD, &["SEARCH e USING INDEX events_thread (channel_id=? AND reply_to_seq=? AND seq>?)"]),
        ("pins", events::PINS, &["SEARCH e USING INDEX events_pins (channel_id=?"]),
        (
            "empty_edits",
            events::EMPTY_EDITS,
            &["SEARCH events USING INDEX events_target (channel_id=? AND target_seq=?)"],
        ),
        ("user_named", events::USER_NAMED, &["SEARCH u USING"]),
        ("last_search_rowid", search::LAST_ROWID, &["SEARCH events USING COVERING INDEX events_search"]),
        ("search_rowid", search::ROWID, &["SEARCH events USING PRIMARY KEY (channel_id=? AND seq=?)"]),
        ("drop_mentions", events::DROP_MENTIONS, &["SEARCH mentions USING"]),
        ("mentions", events::MENTIONS, &["SEARCH n USING", "SEARCH e USING PRIMARY KEY (channel_id=? AND seq=?)"]),
        ("my_channels", channels::MY_CHANNELS, &["SEARCH m USING INDEX members_by_user", "SEARCH c USING"]),
        (
            "my_channel",
            channels::MY_CHANNEL,
            &["SEARCH m USING PRIMARY KEY (channel_id=? AND user_id=?)", "SEARCH c USING"],
        ),
        ("members", channels::MEMBERS, &["SEARCH m USING PRIMARY KEY (channel_id=?)", "SEARCH u USING"]),
        (
            "dm_shown",
            channels::DM_SHOWN,
            &[
                "SEARCH m USING COVERING INDEX members_by_user",
                "SEARCH o USING PRIMARY KEY (channel_id=?)",
                "SEARCH e USING COVERING INDEX events_dedupe (channel_id=? AND sender_id=?",
            ],
        ),
        (
            "presence_peers",
            channels::PRESENCE_PEERS,
            &[
                "SEARCH m USING COVERING INDEX members_by_user",
                "SEARCH o USING PRIMARY KEY (channel_id=?)",
                "SEARCH x USING PRIMARY KEY (channel_id=?)",
                "SEARCH e USING COVERING INDEX events_dedupe (channel_id=? AND sender_id=?",
            ],
        ),
        ("public_channels", channels::PUBLIC_CHANNELS, &["SEARCH c USING INDEX channels_by_kind_name"]),
        ("channel_named", channels::NAMED, &["SEARCH c USING INDEX channels_by_name"]),
        (
            "look_alikes",
            names::LOOK_ALIKES,
            &[
                "SEARCH users USING INDEX users_by_username_skeleton",
                "SEARCH users USING INDEX users_by_display_skeleton ",
                "SEARCH users USING INDEX users_by_display_skeleton_caseless",
            ],
        ),
        // Not here: `users::SEARCH_USERS` reads every user, by design.
    ];
    for (name, sql, expected) in cases {
        let detail = plan(&store.read, sql, &["a", "b", "c", "d"]).await;
        for want in *expected {
            assert!(detail.iter().any(|d| d.starts_with(want)), "{name}: no `{want}…` in {detail:#?}");
        }
        let scans = detail.iter().filter(|d| d.starts_with("SCAN")).count();
        assert_eq!(scans, 0, "{name}: a table scan in {detail:#?}");
        // A key probe on both columns, whichever index the planner picks.
        if ["membership", "remove_member"].contains(name) {
            assert!(
                detail.iter().any(|d| d.contains("channel_id=?") && d.contains("user_id=?")),
                "{name}: {detail:#?}"
            );
        }
    }
    parley_core::ports::Health::close(&store).await;
}
