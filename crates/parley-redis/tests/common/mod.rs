//! Helpers shared by the test binaries: nodes on a key prefix of their own,
//! with short timings, against the real Redis of `scripts/services`.

#![allow(dead_code)] // each test binary uses its own part

use std::time::{Duration, Instant};

use parley_core::id::{ChannelId, UserId};
use parley_core::presence::{Notice, NoticeStream, Presence};
use parley_redis::{RedisPresence, RedisPresenceConfig};

pub const TTL: Duration = Duration::from_secs(3);
pub const RENEW: Duration = Duration::from_secs(1);
pub const SWEEP: Duration = Duration::from_secs(1);

/// Timings short enough for the suite to run in seconds, and a prefix no other run shares.
pub fn config() -> RedisPresenceConfig {
    parley_testkit::app::init_test_log();
    RedisPresenceConfig {
        prefix: format!("parley-test-{}", uuid::Uuid::now_v7().simple()),
        ttl: TTL,
        renew_every: RENEW,
        sweep_every: SWEEP,
        timeout: Duration::from_secs(1),
    }
}

pub async fn node(config: &RedisPresenceConfig) -> RedisPresence {
    RedisPresence::connect(&parley_testkit::services::redis_url(), config.clone()).await.unwrap()
}

/// A plain connection, to look at keys or publish by hand.
pub async fn raw() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(parley_testkit::services::redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Reads until `want` arrives, within `within`; how long it took, and what came before it.
pub async fn expect(stream: &mut Box<dyn NoticeStream>, want: &Notice, within: Duration) -> (Duration, Vec<Notice>) {
    match wait_for(stream, want, within).await {
        Ok(found) => found,
        Err(before) => panic!("no {want:?} within {within:?}; got {before:?}"),
    }
}

/// `expect` that tells a timeout as `Err` with what came meanwhile.
pub async fn wait_for(
    stream: &mut Box<dyn NoticeStream>,
    want: &Notice,
    within: Duration,
) -> Result<(Duration, Vec<Notice>), Vec<Notice>> {
    let start = Instant::now();
    let mut before = Vec::new();
    loop {
        let left = within.checked_sub(start.elapsed()).unwrap_or_default();
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Ok(notice)) if &notice == want => return Ok((start.elapsed(), before)),
            Ok(Ok(notice)) => before.push(notice),
            Ok(Err(err)) => panic!("the stream failed waiting for {want:?}: {err}"),
            Err(_) => return Err(before),
        }
    }
}

/// Sends a typing notice from `from` as a marker, and returns what `stream`
/// got before it: Redis delivers one channel's messages in order, so a
/// notice published before the marker would be among them.
pub async fn before_marker(from: &RedisPresence, stream: &mut Box<dyn NoticeStream>) -> Vec<Notice> {
    let (channel, user) = (ChannelId::generate(), UserId::generate());
    from.typing(channel, user).await.unwrap();
    expect(stream, &Notice::Typing { channel, user }, Duration::from_secs(5)).await.1
}

/// Polls `online_among` until it answers `want`, within `within`; how long it took.
pub async fn until_online(node: &RedisPresence, users: &[UserId], want: &[UserId], within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = node.online_among(users).await;
        if got.as_deref() == Ok(want) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "online_among still {got:?}, not {want:?}, after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
