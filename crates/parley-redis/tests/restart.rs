//! Redis restarted under two nodes (`scripts/services restart-redis`): the
//! notice streams keep working, and presence is right again within a
//! renewal. Alone in its binary, since the restart disturbs anything else
//! using Redis at that moment.

mod common;

use std::time::{Duration, Instant};

use common::{config, expect, node, until_online, wait_for, RENEW};
use parley_core::id::{ChannelId, UserId};
use parley_core::presence::{Notice, Presence};

#[tokio::test]
async fn presence_and_streams_survive_a_redis_restart() {
    let config = config();
    let (a, b) = (node(&config).await, node(&config).await);
    let mut on_b = b.subscribe().await.unwrap();
    let (alice, bob, carol) = (UserId::generate(), UserId::generate(), UserId::generate());
    a.set_online(alice, true).await.unwrap();
    a.set_online(carol, true).await.unwrap();
    expect(&mut on_b, &Notice::Online(carol), Duration::from_secs(2)).await;

    let start = Instant::now();
    tokio::task::spawn_blocking(|| parley_testkit::services::control(&["restart-redis"])).await.unwrap();
    let restarted = start.elapsed();
    let back = Instant::now();

    // Changes made right after: they may fail (`unavailable`) while the node
    // finds out, and must hold once Redis answers.
    let bob_online = a.set_online(bob, true).await;
    let carol_offline = a.set_online(carol, false).await;
    eprintln!("after the restart: set_online -> {bob_online:?}, {carol_offline:?}");

    let took = until_online(&b, &[alice, bob, carol], &[alice, bob], RENEW * 5).await;
    eprintln!("restart took {restarted:?}; presence right again {took:?} after Redis was back");

    // B's stream, opened before the restart, still delivers.
    let (channel, user) = (ChannelId::generate(), UserId::generate());
    let typing = Notice::Typing { channel, user };
    let mut delivered = None;
    for _ in 0..50 {
        if a.typing(channel, user).await.is_ok()
            && wait_for(&mut on_b, &typing, Duration::from_millis(200)).await.is_ok()
        {
            delivered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = delivered.expect("a typing notice sent after the restart reaches B");
    eprintln!("typing delivered {delivered:?} after Redis was back");

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
