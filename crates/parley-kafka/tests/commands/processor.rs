//! The processor: commands accepted while no processor runs wait in Kafka;
//! a processor stores each once, in order, and publishes it; a processor that
//! stops mid-way hands over to another without losing or doubling anything.

use std::sync::Arc;
use std::time::Instant;

use parley_kafka::KafkaCommandLog;

use tokio_util::sync::CancellationToken;

use crate::support::{check_feed, group, wait_until, Running, World, PATIENCE};

/// Stops a processor's task: as a crash would (the task dropped mid-step, so
/// nothing of that step is committed), or asked to.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Abort,
    Cancel,
}

async fn stop(running: Running, how: Stop) {
    let started = Instant::now();
    match how {
        Stop::Abort => running.task.abort(),
        Stop::Cancel => running.stop.cancel(),
    }
    match tokio::time::timeout(PATIENCE, running.task).await.expect("the processor stops in time") {
        Ok(result) => result.expect("a processor asked to stop stops cleanly"),
        Err(err) => assert!(err.is_cancelled(), "{err}"),
    }
    eprintln!("processor stopped ({how:?}) in {:?}: {:?}", started.elapsed(), running.stats.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_accepted_while_no_processor_runs_are_stored_once_in_order_and_published() {
    const POSTS: usize = 100;
    let world = World::new(3, 3).await;
    let log = Arc::new(KafkaCommandLog::connect(world.config.clone()).await.unwrap());
    log.ping().await.expect("the brokers answer");

    let started = Instant::now();
    world.send(&log, 0..POSTS).await;
    eprintln!("{} appends acknowledged in {:?}", POSTS * world.channels.len(), started.elapsed());
    assert_eq!(world.stored().await, 0, "nothing is stored before a processor runs");

    let mut feed = world.subscribe().await;
    let started = Instant::now();
    let processor = world.processor(&group()).await;
    world.wait_stored(POSTS * world.channels.len()).await;
    eprintln!("stored by one processor in {:?}", started.elapsed());
    let stored = world.check_store(&[POSTS; 3]).await;
    let twice = check_feed(&mut feed, &stored).await;
    assert_eq!(twice, 0, "one processor, no failure: each event published once");

    wait_until("the processor counted every command", || processor.stats.snapshot().commands >= stored.len() as u64)
        .await;
    let counts = processor.stats.snapshot();
    assert_eq!(counts.commands, stored.len() as u64);
    assert_eq!((counts.published, counts.refused, counts.skipped), (stored.len() as u64, 0, 0));
    stop(processor, Stop::Cancel).await;
    world.delete_topics().await;
}

/// Posts keep coming while a first processor runs, a second joins its group,
/// and the first is stopped mid-way: every post is stored once and published.
async fn a_processor_stopped_mid_way_hands_over(how: Stop) {
    // Channels hash to partitions at random: with 4 of them, all could land
    // in the first processor's half of the 4 partitions (1 run in 16), and
    // the second would never get a step; with 16, 1 run in 65,536.
    let world = Arc::new(World::new(16, 2).await);
    let log = Arc::new(KafkaCommandLog::connect(world.config.clone()).await.unwrap());
    let mut feed = world.subscribe().await;
    let group = group();

    let sending = CancellationToken::new();
    let sender = tokio::spawn(world.clone().send_until(log.clone(), sending.clone()));
    let first = world.processor(&group).await;
    wait_until("the first processor did two steps", || first.stats.snapshot().steps >= 2).await;
    let second = world.processor(&group).await;
    wait_until("the second processor did a step", || second.stats.snapshot().steps >= 1).await;
    stop(first, how).await;
    // The second takes the first one's partitions over while posts keep coming.
    let steps = second.stats.snapshot().steps;
    wait_until("the second processor did two more steps", || second.stats.snapshot().steps >= steps + 2).await;
    sending.cancel();
    let sent = sender.await.unwrap();

    let started = Instant::now();
    world.wait_stored(sent.iter().sum()).await;
    eprintln!("{sent:?} posts sent; the last stored {:?} after the sending stopped", started.elapsed());
    let stored = world.check_store(&sent).await;
    let twice = check_feed(&mut feed, &stored).await;
    eprintln!("{} events, {twice} of them published twice", stored.len());
    stop(second, Stop::Cancel).await;
    world.delete_topics().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_processor_hands_over_without_loss_or_doubles() {
    a_processor_stopped_mid_way_hands_over(Stop::Abort).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_processor_hands_over_without_loss_or_doubles() {
    a_processor_stopped_mid_way_hands_over(Stop::Cancel).await;
}
