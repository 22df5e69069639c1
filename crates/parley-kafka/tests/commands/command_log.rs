//! The command log fails fast when Kafka is unreachable.

use std::time::{Duration, Instant};

use parley_core::command::Command;
use parley_core::id::{ChannelId, UserId};
use parley_core::parse::{Body, ClientMsgId};
use parley_core::ports::CommandLog;
use parley_core::ErrorCode;
use parley_kafka::{KafkaCommandLog, KafkaConfig};

fn post() -> Command {
    Command::Post {
        channel: ChannelId::generate(),
        sender: UserId::generate(),
        client_msg_id: ClientMsgId::parse("m1").unwrap(),
        body: Body::parse("hello").unwrap(),
        reply_to_seq: None,
        broadcast: Vec::new(),
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn with_kafka_unreachable_a_send_fails_within_seconds_then_at_once() {
    parley_testkit::app::init_test_log();
    let log = KafkaCommandLog::new(KafkaConfig::new(format!("127.0.0.1:{}", closed_port()))).unwrap();

    let started = Instant::now();
    let error = log.append(&post()).await.unwrap_err();
    let first = started.elapsed();
    assert_eq!(error.code, ErrorCode::Unavailable, "{error}");
    assert!(first < Duration::from_secs(7), "the first send failed after {first:?}");

    let started = Instant::now();
    let error = log.append(&post()).await.unwrap_err();
    let second = started.elapsed();
    assert_eq!(error.code, ErrorCode::Unavailable, "{error}");
    assert!(second < Duration::from_millis(500), "the brokers are known down: the next send failed after {second:?}");

    let started = Instant::now();
    let error = log.ping().await.unwrap_err();
    let ping = started.elapsed();
    assert_eq!(error.code, ErrorCode::Unavailable, "{error}");
    assert!(ping < Duration::from_secs(3), "ping answered after {ping:?}");
    eprintln!("unreachable: first send failed in {first:?}, the next in {second:?}, ping in {ping:?}");
}
