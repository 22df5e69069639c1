//! A store with users and channels, topics of a test's own, processors to start
//! and stop, and the checks every test makes of the store and the feed.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_core::command::Command;
use parley_core::feed::{EventFeed, FeedSubscription};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, Event, EventKind, Role, User};
use parley_core::parse::{Body, ClientMsgId, Seq, Username};
use parley_core::ports::{CommandLog, EventLog, UserStore};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_kafka::{KafkaCommandLog, KafkaConfig, KafkaFeed, Processor, ProcessorStats};
use parley_sqlite::SqliteStore;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a test waits for something that takes a second when all is well.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Topics of this test alone, 4 partitions.
pub fn config() -> KafkaConfig {
    let run = Uuid::now_v7().simple();
    KafkaConfig {
        partitions: 4,
        events_topic: format!("parley.events.test-{run}"),
        commands_topic: format!("parley.commands.test-{run}"),
        ..KafkaConfig::new(parley_testkit::services::kafka_brokers())
    }
}

/// A group of this test alone.
pub fn group() -> String {
    format!("parley.processors.test-{}", Uuid::now_v7().simple())
}

/// A store with `users` users, every one a member of each of `channels` channels.
pub struct World {
    pub config: KafkaConfig,
    pub store: Arc<SqliteStore>,
    pub users: Vec<User>,
    pub channels: Vec<ChannelId>,
    _dir: TempDir,
}

/// A processor running in a task of its own.
pub struct Running {
    pub task: JoinHandle<parley_core::Result<()>>,
    pub stop: CancellationToken,
    pub stats: Arc<ProcessorStats>,
}

fn sequencer(store: &Arc<SqliteStore>) -> Sequencer {
    Sequencer::start(store.clone() as Arc<dyn EventLog>, Arc::new(|_| {})).0
}

impl World {
    pub async fn new(channels: usize, users: usize) -> World {
        parley_testkit::app::init_test_log();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let sequencer = sequencer(&store);
        let tag = &Uuid::now_v7().simple().to_string()[24..];
        let mut made = Vec::new();
        for n in 0..users {
            let user = User {
                id: UserId::generate(),
                username: Username::parse(&format!("u{n}{tag}")).unwrap(),
                display_name: format!("User {n}"),
                created_at: Timestamp::now(),
                role: parley_core::model::ServerRole::Member,
                deactivated_at: None,
                bot: false,
            };
            store.create_user(&user, "hash", &parley_core::accounts::Admission::by_owner()).await.unwrap();
            made.push(user);
        }
        let mut ids = Vec::new();
        for n in 0..channels {
            let channel = Channel {
                id: ChannelId::generate(),
                kind: ChannelKind::Public,
                name: format!("c{n}"),
                topic: String::new(),
                created_at: Timestamp::now(),
                created_by: made[0].id,
                dm_key: None,
                last_seq: 0,
                member_count: 0,
                archived_at: None,
            };
            let members =
                made.iter().enumerate().map(|(i, u)| (u.id, if i == 0 { Role::Owner } else { Role::Member })).collect();
            sequencer.submit(Command::Create { channel: channel.clone(), members }).await.unwrap();
            ids.push(channel.id);
        }
        World { config: config(), store, users: made, channels: ids, _dir: dir }
    }

    /// The `n`th post to channel number `channel`, by one user after another.
    pub fn post(&self, channel: usize, n: usize) -> Command {
        Command::Post {
            channel: self.channels[channel],
            sender: self.users[n % self.users.len()].id,
            client_msg_id: ClientMsgId::parse(&format!("m{n}")).unwrap(),
            body: Body::parse(&format!("message {n} to channel {channel}")).unwrap(),
            reply_to_seq: None,
            broadcast: Vec::new(),
        }
    }

    /// Appends posts `range` to every channel: each channel's in order, one at
    /// a time (so the log's order is theirs), the channels side by side.
    pub async fn send(&self, log: &Arc<KafkaCommandLog>, range: Range<usize>) {
        let sends = (0..self.channels.len()).map(|channel| {
            let commands: Vec<Command> = range.clone().map(|n| self.post(channel, n)).collect();
            let log = log.clone();
            tokio::spawn(async move {
                for command in commands {
                    log.append(&command).await.expect("an acknowledged append");
                }
            })
        });
        for send in futures::future::join_all(sends).await {
            send.unwrap();
        }
    }

    /// Appends posts to every channel as [`send`](Self::send) does, until
    /// `stop`; returns how many each channel got.
    pub async fn send_until(self: Arc<Self>, log: Arc<KafkaCommandLog>, stop: CancellationToken) -> Vec<usize> {
        let sends = (0..self.channels.len()).map(|channel| {
            let (world, log, stop) = (self.clone(), log.clone(), stop.clone());
            tokio::spawn(async move {
                let mut sent = 0;
                while !stop.is_cancelled() {
                    log.append(&world.post(channel, sent)).await.expect("an acknowledged append");
                    sent += 1;
                }
                sent
            })
        });
        futures::future::join_all(sends).await.into_iter().map(|sent| sent.unwrap()).collect()
    }

    /// Starts a processor of `group` with a Sequencer and a feed of its own, as on a node of its own.
    pub async fn processor(&self, group: &str) -> Running {
        let feed = Arc::new(KafkaFeed::connect(self.config.clone()).await.unwrap()) as Arc<dyn EventFeed>;
        let processor = Processor::connect(self.config.clone(), group, sequencer(&self.store), feed).await.unwrap();
        let (stop, stats) = (CancellationToken::new(), processor.stats());
        let task = tokio::spawn(processor.run(stop.clone()));
        Running { task, stop, stats }
    }

    /// A subscriber of the events topic, from now on.
    pub async fn subscribe(&self) -> Box<dyn FeedSubscription> {
        KafkaFeed::connect(self.config.clone()).await.unwrap().subscribe().await.unwrap()
    }

    /// A channel's whole log.
    pub async fn log(&self, channel: ChannelId) -> Vec<Event> {
        let mut all: Vec<Event> = Vec::new();
        loop {
            let page = self.store.events_after(channel, all.last().map_or(0, |e| e.seq), 500).await.unwrap();
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }

    /// How many messages the store holds.
    pub async fn stored(&self) -> usize {
        let mut count = 0;
        for channel in &self.channels {
            count += self.log(*channel).await.iter().filter(|e| is_message(e)).count();
        }
        count
    }

    /// Waits until the store holds at least `count` messages.
    pub async fn wait_stored(&self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let stored = self.stored().await;
            if stored >= count {
                return;
            }
            assert!(Instant::now() < deadline, "{stored} of {count} messages stored in {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Channel number `i`'s log holds its posts `0..sent[i]`, each once, in the
    /// order sent, with no hole in its seqs. Returns every stored message.
    pub async fn check_store(&self, sent: &[usize]) -> Vec<Event> {
        let mut messages = Vec::new();
        for (index, channel) in self.channels.iter().enumerate() {
            let log = self.log(*channel).await;
            let seqs: Vec<Seq> = log.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (1..=log.len() as Seq).collect::<Vec<_>>(), "channel {index}: seqs without holes");
            let mine: Vec<&Event> = log.iter().filter(|e| is_message(e)).collect();
            let ids: Vec<&str> = mine.iter().map(|e| client_msg_id(e)).collect();
            let expected: Vec<String> = (0..sent[index]).map(|n| format!("m{n}")).collect();
            assert_eq!(ids, expected, "channel {index}: every post once, in the order sent");
            messages.extend(mine.into_iter().cloned());
        }
        messages
    }

    pub async fn delete_topics(&self) {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.config.brokers).create().unwrap();
        let topics = [self.config.events_topic.as_str(), self.config.commands_topic.as_str()];
        for result in admin.delete_topics(&topics, &AdminOptions::new()).await.unwrap() {
            result.unwrap();
        }
    }
}

/// Waits until `done` holds.
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "not in {PATIENCE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the feed until it has shown every one of `stored`; a seq may come
/// twice, but never as two different events. Returns how many came twice.
pub async fn check_feed(subscription: &mut Box<dyn FeedSubscription>, stored: &[Event]) -> usize {
    let expected: HashMap<(ChannelId, Seq), &Event> = stored.iter().map(|e| ((e.channel_id, e.seq), e)).collect();
    let mut seen: HashMap<(ChannelId, Seq), Event> = HashMap::new();
    let mut twice = 0;
    while seen.len() < expected.len() {
        let batch = tokio::time::timeout(PATIENCE, subscription.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {} events on the feed in time", seen.len(), expected.len()))
            .expect("the feed lost nothing");
        for event in batch.iter() {
            let key = (event.channel_id, event.seq);
            assert_eq!(expected.get(&key), Some(&event), "the feed shows what the store holds");
            if let Some(earlier) = seen.insert(key, event.clone()) {
                assert_eq!(&earlier, event, "one event per seq");
                twice += 1;
            }
        }
    }
    twice
}

fn is_message(event: &Event) -> bool {
    matches!(event.kind, EventKind::Message { .. })
}

fn client_msg_id(event: &Event) -> &str {
    match &event.kind {
        EventKind::Message { client_msg_id, .. } => client_msg_id,
        _ => "",
    }
}
