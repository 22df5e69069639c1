//! Stored messages per second through the Sequencer on a real SQLite file, with 1, 10 and 1000 concurrent writers.
//!
//! The store is the real one (WAL, `synchronous=FULL`), so every group commit pays a real fsync.
//!
//! Every writer is a task that posts to the same one channel, one message
//! after another, awaiting each ack before the next: the hardest case for the
//! log (one `seq` counter for everyone) and the one that shows group commit,
//! since the only way to go faster than one fsync per message is to put the
//! messages of many writers into one transaction.
//!
//! `cargo bench -p parley-sqlite --bench sequencer`; `-- --test` runs each case once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use parley_core::command::Command;
use parley_core::feed::EventBatch;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, Role, User};
use parley_core::parse::{Body, ClientMsgId, Username};
use parley_core::ports::{EventLog, Store};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_sqlite::SqliteStore;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// (writers, messages stored per iteration): enough messages that an
/// iteration spans many group commits, few enough that one fsync per message
/// (a single writer) still finishes an iteration in well under a second.
const CASES: [(usize, usize); 3] = [(1, 100), (10, 1_000), (1_000, 10_000)];

/// A store in a real file, a Sequencer over it, and one channel with `writers` members.
struct Setup {
    _dir: TempDir,
    sequencer: Sequencer,
    channel: ChannelId,
    writers: Vec<UserId>,
    /// Makes every client_msg_id of the run distinct, across iterations too.
    next_id: Arc<AtomicU64>,
    /// Commits and events seen by `on_stored`: how large the groups were.
    commits: Arc<AtomicU64>,
    stored: Arc<AtomicU64>,
}

async fn setup(writers: usize) -> Setup {
    // Under target/, on the disk the build uses: never a tmpfs where fsync is free.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.expect("open the store"));
    let (commits, stored) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let on_stored = {
        let (commits, stored) = (commits.clone(), stored.clone());
        Arc::new(move |events: EventBatch| {
            commits.fetch_add(1, Ordering::Relaxed);
            stored.fetch_add(events.len() as u64, Ordering::Relaxed);
        })
    };
    let (sequencer, _task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, on_stored);

    let mut users = Vec::with_capacity(writers);
    for i in 0..writers {
        let user = User {
            id: UserId::generate(),
            username: Username::parse(&format!("writer{i}")).expect("valid"),
            display_name: format!("Writer {i}"),
            created_at: Timestamp::now(),
            role: parley_core::model::ServerRole::Member,
            deactivated_at: None,
            bot: false,
        };
        store
            .create_user(&user, "not-a-real-hash", &parley_core::accounts::Admission::by_owner())
            .await
            .expect("create_user");
        users.push(user.id);
    }
    let channel = Channel {
        id: ChannelId::generate(),
        kind: ChannelKind::Public,
        name: "bench".to_owned(),
        topic: String::new(),
        created_at: Timestamp::now(),
        created_by: users[0],
        dm_key: None,
        last_seq: 0,
        member_count: 0,
        archived_at: None,
    };
    let members = users.iter().map(|id| (*id, Role::Member)).collect();
    sequencer.submit(Command::Create { channel: channel.clone(), members }).await.expect("create the channel");
    Setup { _dir: dir, sequencer, channel: channel.id, writers: users, next_id: Arc::default(), commits, stored }
}

/// Stores `messages` messages, split evenly among the writers, and returns how long it took.
async fn post_all(setup: &Setup, messages: usize) -> Duration {
    let each = messages / setup.writers.len();
    let body = Body::parse("a message of about the length people write in a chat").expect("valid");
    let started = Instant::now();
    let tasks: Vec<_> = setup
        .writers
        .iter()
        .map(|writer| {
            let (sequencer, channel, writer, body) = (setup.sequencer.clone(), setup.channel, *writer, body.clone());
            let next_id = setup.next_id.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let client_msg_id = ClientMsgId::parse(&format!("m{id}")).expect("valid");
                    let post = Command::Post {
                        channel,
                        sender: writer,
                        client_msg_id,
                        body: body.clone(),
                        reply_to_seq: None,
                        broadcast: Vec::new(),
                    };
                    let appended = sequencer.submit(post).await.expect("post");
                    assert!(appended.created, "every message is new");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    started.elapsed()
}

fn sequencer(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a tokio runtime");
    let mut group = c.benchmark_group("sequencer_sqlite");
    // Each iteration is long (tens to hundreds of ms): a flat sample of few
    // iterations, ten samples, keeps the whole run to a couple of minutes.
    group.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));
    for (writers, messages) in CASES {
        let setup = runtime.block_on(setup(writers));
        let (commits_before, stored_before) =
            (setup.commits.load(Ordering::Relaxed), setup.stored.load(Ordering::Relaxed));
        group.throughput(Throughput::Elements(messages as u64));
        group.bench_function(BenchmarkId::new("writers", writers), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let setup = &setup;
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += post_all(setup, messages).await;
                    }
                    total
                }
            });
        });
        let commits = setup.commits.load(Ordering::Relaxed) - commits_before;
        let stored = setup.stored.load(Ordering::Relaxed) - stored_before;
        if commits > 0 {
            eprintln!(
                "{writers} writers: {stored} messages in {commits} commits, {:.1} per commit",
                stored as f64 / commits as f64
            );
        }
    }
    group.finish();
}

criterion_group!(benches, sequencer);
criterion_main!(benches);
