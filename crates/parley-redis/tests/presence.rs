//! Redis presence across nodes, against the real Redis of `scripts/services`.
//! Each test has a key prefix of its own, and short timings (TTL 3 s, renew
//! and sweep every 1 s). The Redis restart is in `restart.rs`, a binary of its own.

mod common;

use std::time::Duration;

use common::{before_marker, config, expect, node, raw, until_online, SWEEP, TTL};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Notify, Preferences, ReadMarker};
use parley_core::presence::{Mine, Notice, Presence};
use parley_core::ErrorCode;
use redis::AsyncCommands;

const SOON: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_user_is_announced_on_their_first_node_and_gone_with_their_last() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let mut on_b = b.subscribe().await.unwrap();
    let (alice, bob) = (UserId::generate(), UserId::generate());

    a.set_online(alice, true).await.unwrap();
    expect(&mut on_b, &Notice::Online(alice), SOON).await;
    assert_eq!(b.online_among(&[alice, bob]).await.unwrap(), vec![alice]);
    assert_eq!(a.online_among(&[bob, alice, bob]).await.unwrap(), vec![alice]);

    // A second session on another node is no news.
    b.set_online(alice, true).await.unwrap();
    assert_eq!(before_marker(&a, &mut on_b).await, vec![]);

    // Nor is leaving one node while the other still has her.
    a.set_online(alice, false).await.unwrap();
    assert_eq!(before_marker(&a, &mut on_b).await, vec![]);
    assert_eq!(a.online_among(&[alice]).await.unwrap(), vec![alice]);

    b.set_online(alice, false).await.unwrap();
    expect(&mut on_b, &Notice::Offline(alice), SOON).await;
    assert_eq!(a.online_among(&[alice]).await.unwrap(), vec![]);

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn typing_reaches_every_node_the_senders_included() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let (mut on_a, mut on_b) = (a.subscribe().await.unwrap(), b.subscribe().await.unwrap());
    let mut also_on_b = b.subscribe().await.unwrap();
    let typing = Notice::Typing { channel: ChannelId::generate(), user: UserId::generate() };
    let Notice::Typing { channel, user } = typing.clone() else { unreachable!() };

    a.typing(channel, user).await.unwrap();
    for stream in [&mut on_a, &mut on_b, &mut also_on_b] {
        let (_, before) = expect(stream, &typing, SOON).await;
        assert_eq!(before, vec![]);
    }

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_users_own_notices_reach_every_node_the_senders_included() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let (mut on_a, mut on_b) = (a.subscribe().await.unwrap(), b.subscribe().await.unwrap());
    let user = UserId::generate();
    let marker = ReadMarker { channel_id: ChannelId::generate(), last_read_seq: 57, unread_count: 2, mention_count: 1 };
    let preferences = Preferences { notify: Notify::All, muted: true };

    a.mine(user, Mine::Read(marker)).await.unwrap();
    b.mine(user, Mine::Preferences(marker.channel_id, preferences)).await.unwrap();
    for stream in [&mut on_a, &mut on_b] {
        let (_, before) = expect(stream, &Notice::Mine { user, what: Mine::Read(marker) }, SOON).await;
        assert_eq!(before, vec![]);
        let what = Mine::Preferences(marker.channel_id, preferences);
        let (_, before) = expect(stream, &Notice::Mine { user, what }, SOON).await;
        assert_eq!(before, vec![]);
    }

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dead_nodes_users_go_offline_within_ttl_and_a_sweep() {
    let config = config();
    let (a, b, c) = (node(&config).await, node(&config).await, node(&config).await);
    let mut on_b = b.subscribe().await.unwrap();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    a.set_online(alice, true).await.unwrap();
    a.set_online(bob, true).await.unwrap();
    b.set_online(bob, true).await.unwrap();
    assert_eq!(before_marker(&b, &mut on_b).await, vec![Notice::Online(alice), Notice::Online(bob)]);
    let dead = a.node_id().to_owned();

    // Dropping is a crash: no cleanup, the claim just stops being renewed.
    drop(a);
    let (took, before) = expect(&mut on_b, &Notice::Offline(alice), TTL + SWEEP + SOON).await;
    eprintln!("dead node's user announced offline after {took:?}");
    assert!(took <= TTL + SWEEP + Duration::from_secs(1), "took {took:?}");
    assert_eq!(before, vec![]);
    // B and C both sweep: one of them announces, once. Bob is still on B.
    assert_eq!(before_marker(&c, &mut on_b).await, vec![]);
    assert_eq!(b.online_among(&[alice, bob]).await.unwrap(), vec![bob]);

    // The dead node is forgotten.
    let mut redis = raw().await;
    let nodes: Vec<String> = redis.smembers(format!("{}:nodes", config.prefix)).await.unwrap();
    assert!(!nodes.contains(&dead), "{nodes:?}");
    let users: i64 = redis.exists(format!("{}:node:{dead}:users", config.prefix)).await.unwrap();
    assert_eq!(users, 0);

    b.shutdown().await.unwrap();
    c.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_gives_the_claim_up_at_once() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let (mut on_a, mut on_b) = (a.subscribe().await.unwrap(), b.subscribe().await.unwrap());
    let alice = UserId::generate();
    a.set_online(alice, true).await.unwrap();
    expect(&mut on_b, &Notice::Online(alice), SOON).await;

    a.shutdown().await.unwrap();
    let (took, _) = expect(&mut on_b, &Notice::Offline(alice), SOON).await;
    assert!(took < TTL / 2, "took {took:?}");
    assert_eq!(b.online_among(&[alice]).await.unwrap(), vec![]);

    // A's streams end after what they had buffered, and it takes no more changes.
    let ended = tokio::time::timeout(SOON, async {
        loop {
            if let Err(err) = on_a.next().await {
                return err;
            }
        }
    });
    assert_eq!(ended.await.unwrap().code, ErrorCode::Unavailable);
    assert!(a.set_online(alice, true).await.is_err());
    assert!(a.subscribe().await.is_err());
    a.shutdown().await.unwrap();
    assert_eq!(b.online_among(&[alice]).await.unwrap(), vec![]);

    b.shutdown().await.unwrap();
    let mut redis = raw().await;
    let left: Vec<String> = redis.keys(format!("{}:*", config.prefix)).await.unwrap();
    assert_eq!(left, Vec::<String>::new());
}

/// What a Redis restart does to the keys, without restarting the Redis other
/// tests use: every node re-asserts its users within a renewal, announcing
/// them again.
#[tokio::test]
async fn lost_keys_come_back_within_a_renewal() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let mut on_b = b.subscribe().await.unwrap();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    a.set_online(alice, true).await.unwrap();
    b.set_online(bob, true).await.unwrap();

    let mut redis = raw().await;
    let keys: Vec<String> = redis.keys(format!("{}:*", config.prefix)).await.unwrap();
    let _: i64 = redis.del(keys).await.unwrap();
    assert_eq!(b.online_among(&[alice, bob]).await.unwrap(), vec![]);

    let took = until_online(&b, &[alice, bob], &[alice, bob], common::RENEW * 3).await;
    eprintln!("presence back after {took:?}");
    expect(&mut on_b, &Notice::Online(alice), common::RENEW * 3).await;

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_undecodable_notice_is_skipped() {
    let config = config();
    let a = node(&config).await;
    let mut on_a = a.subscribe().await.unwrap();
    let mut redis = raw().await;
    let _: i64 = redis.publish(format!("{}:notices", config.prefix), "away somebody").await.unwrap();
    assert_eq!(before_marker(&a, &mut on_a).await, vec![]);
    a.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_config_or_an_unreachable_redis_is_refused() {
    let bad = parley_redis::RedisPresenceConfig { ttl: Duration::from_secs(1), ..config() };
    let err = parley_redis::RedisPresence::connect(&parley_testkit::services::redis_url(), bad).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::Internal);

    // A port nothing listens on (this one was just freed).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = parley_redis::RedisPresence::connect(&format!("redis://127.0.0.1:{port}"), config()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err}");
}
