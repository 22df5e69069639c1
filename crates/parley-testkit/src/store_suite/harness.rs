//! What every check stands on: a store with a Sequencer and a Chat over it, and a record of what `on_stored` saw.
//!
//! A gate can hold the writer as it hands a batch to the log, so that several
//! commands queue behind it and land in the next batch together.

use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use parley_core::accounts::Admission;
use parley_core::chat::Chat;
use parley_core::command::{Appended, Applied, Command, Stamp};
use parley_core::feed::EventBatch;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, ChannelKind, Event, Role, User};
use parley_core::parse::{Body, ClientMsgId, Seq, Username};
use parley_core::ports::{EventLog, PostKey, Reaction, Search, Store};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_core::{ErrorCode, Result};

/// How long a check waits for the writer before it calls the suite itself broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// Unwraps a port's answer, naming the call that failed.
pub(crate) trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T> Must<T> for Result<T> {
    #[track_caller]
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: unexpected error {e}"))
    }
}

/// The code of an answer that must be an error.
#[track_caller]
pub(crate) fn code_of<T: Debug>(result: Result<T>, what: &str) -> ErrorCode {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(e) => e.code,
    }
}

/// Holds the writer inside `EventLog::append` while closed.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    closed: bool,
    writer_waiting: bool,
}

impl Gate {
    /// Called by the writer: waits while the gate is closed. The wait blocks
    /// its worker thread, so it is announced to Tokio (`block_in_place`): a
    /// store whose answers come through the runtime's I/O driver (PostgreSQL)
    /// would otherwise stall the other workers with it.
    fn pass(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.closed {
            return;
        }
        state.writer_waiting = true;
        let mut state = tokio::task::block_in_place(|| {
            self.changed.wait_timeout_while(state, PATIENCE, |s| s.closed).unwrap_or_else(|e| e.into_inner()).0
        });
        state.writer_waiting = false;
    }

    /// Closes the gate until the returned guard is dropped (a failing check included).
    fn close(&self) -> Opens<'_> {
        self.set_closed(true);
        Opens(self)
    }

    fn set_closed(&self, closed: bool) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = closed;
        self.changed.notify_all();
    }

    fn writer_waiting(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).writer_waiting
    }
}

/// Opens the gate when dropped.
struct Opens<'a>(&'a Gate);

impl Drop for Opens<'_> {
    fn drop(&mut self) {
        self.0.set_closed(false);
    }
}

/// The store's log, with the gate in front of `append`.
struct GatedLog {
    log: Arc<dyn Store>,
    gate: Arc<Gate>,
}

#[async_trait::async_trait]
impl EventLog for GatedLog {
    async fn events_after(&self, channel: ChannelId, after: Seq, limit: u32) -> Result<Vec<Event>> {
        self.log.events_after(channel, after, limit).await
    }

    async fn events_before(&self, channel: ChannelId, before: Option<Seq>, limit: u32) -> Result<Vec<Event>> {
        self.log.events_before(channel, before, limit).await
    }

    async fn stored_post(&self, key: &PostKey<'_>) -> Result<Option<Event>> {
        self.log.stored_post(key).await
    }

    async fn reactions(&self, channel: ChannelId, seqs: &[Seq]) -> Result<Vec<Reaction>> {
        self.log.reactions(channel, seqs).await
    }

    async fn thread(&self, channel: ChannelId, root: Seq, after: Seq, limit: u32) -> Result<Vec<Event>> {
        self.log.thread(channel, root, after, limit).await
    }

    async fn pins(&self, channel: ChannelId) -> Result<Vec<Event>> {
        self.log.pins(channel).await
    }

    async fn mentions(&self, user: UserId, before: Option<EventId>, limit: u32) -> Result<Vec<Event>> {
        self.log.mentions(user, before, limit).await
    }

    async fn search(&self, search: &Search<'_>) -> Result<Vec<Event>> {
        self.log.search(search).await
    }

    async fn append(&self, commands: Vec<Command>) -> Result<Applied> {
        self.gate.pass();
        self.log.append(commands).await
    }

    async fn replay(&self, commands: Vec<Command>, stamps: Vec<Stamp>) -> Result<Applied> {
        self.gate.pass();
        self.log.replay(commands, stamps).await
    }
}

pub(crate) struct Harness {
    pub store: Arc<dyn Store>,
    pub sequencer: Sequencer,
    pub chat: Chat,
    /// Every batch `on_stored` was called with, in order.
    seen: Arc<Mutex<Vec<Vec<Event>>>>,
    gate: Arc<Gate>,
    plugs: AtomicUsize,
    /// Prefixes every name this harness makes, so checks can share a store.
    tag: String,
}

impl Harness {
    pub fn new(store: Arc<dyn Store>) -> Self {
        assert_eq!(
            tokio::runtime::Handle::current().runtime_flavor(),
            tokio::runtime::RuntimeFlavor::MultiThread,
            "the store suite needs a multi-threaded runtime",
        );
        let seen: Arc<Mutex<Vec<Vec<Event>>>> = Arc::default();
        let gate: Arc<Gate> = Arc::default();
        let on_stored = {
            let seen = seen.clone();
            Arc::new(move |events: EventBatch| seen.lock().unwrap_or_else(|e| e.into_inner()).push(events.to_vec()))
        };
        let log = Arc::new(GatedLog { log: store.clone(), gate: gate.clone() });
        let (sequencer, _task) = Sequencer::start(log, on_stored);
        let chat = Chat::new(store.clone(), Arc::new(sequencer.clone()));
        let uuid = uuid::Uuid::now_v7().simple().to_string();
        let tag = format!("t{}", &uuid[uuid.len() - 7..]);
        Harness { store, sequencer, chat, seen, gate, plugs: AtomicUsize::new(0), tag }
    }

    /// A name unique to this harness.
    pub fn name(&self, name: &str) -> String {
        format!("{}{}", self.tag, name)
    }

    /// Makes a user `<tag><name>` called `User <name> <tag>`, with password
    /// hash `hash-<name>`. The tag keeps display names apart too: no two
    /// users' names may look alike, whichever check made them.
    pub async fn user(&self, name: &str) -> User {
        let username = Username::parse(&self.name(name)).expect("a valid test username");
        let mut user = User::new(username, format!("User {name} {}", self.tag));
        let hash = format!("hash-{name}");
        // The first user of a store is its admin: whichever check makes one.
        user.role = self.store.create_user(&user, &hash, &Admission::by_owner()).await.must("create_user").role;
        user
    }

    /// Makes a channel through the Sequencer with `owner` as its owner.
    pub async fn channel(&self, owner: &User, kind: ChannelKind, name: &str) -> Channel {
        let channel = new_channel(owner.id, kind, &self.name(name));
        let members = vec![(owner.id, Role::Owner)];
        let appended =
            self.sequencer.submit(Command::Create { channel: channel.clone(), members }).await.must("create");
        assert!(appended.created, "a new channel is created");
        self.load(channel.id).await
    }

    pub async fn load(&self, id: ChannelId) -> Channel {
        self.store.channel(id).await.must("channel").unwrap_or_else(|| panic!("channel {id} not found"))
    }

    pub async fn join(&self, channel: ChannelId, user: UserId) -> Appended {
        self.sequencer.submit(Command::Join { channel, user, actor: user }).await.must("join")
    }

    pub async fn leave(&self, channel: ChannelId, user: UserId) -> Appended {
        self.sequencer.submit(Command::Leave { channel, user, actor: user }).await.must("leave")
    }

    pub async fn post(&self, channel: ChannelId, sender: UserId, client_msg_id: &str, body: &str) -> Result<Appended> {
        self.sequencer.submit(post(channel, sender, client_msg_id, body)).await
    }

    /// Posts a new message and returns its event.
    pub async fn posted(&self, channel: ChannelId, sender: UserId, client_msg_id: &str, body: &str) -> Event {
        let appended = self.post(channel, sender, client_msg_id, body).await.must("post");
        assert!(appended.created, "a new client_msg_id makes a new message");
        assert_eq!(appended.events.len(), 1, "a post appends one event");
        appended.events.into_iter().next().expect("one event")
    }

    /// A channel's whole log, read in pages of 500.
    pub async fn log(&self, channel: ChannelId) -> Vec<Event> {
        let mut all: Vec<Event> = Vec::new();
        loop {
            let after = all.last().map_or(0, |e| e.seq);
            let page = self.store.events_after(channel, after, 500).await.must("events_after");
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }

    /// Every event `on_stored` has seen, batch by batch.
    pub fn seen(&self) -> Vec<Vec<Event>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A way to read what `on_stored` has seen from another task.
    pub fn seen_handle(&self) -> impl Fn() -> Vec<Vec<Event>> + Send + Sync + 'static {
        let seen = self.seen.clone();
        move || seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Submits `commands` so that they land in one batch, in this order: the
    /// writer is held appending a plug message while they queue.
    pub async fn in_one_batch(&self, commands: Vec<Command>) -> Vec<Result<Appended>> {
        let plug_name = format!("plug{}", self.plugs.fetch_add(1, Ordering::Relaxed));
        let plug_user = self.user(&plug_name).await;
        let plug_channel = self.channel(&plug_user, ChannelKind::Private, &plug_name).await;

        let held = self.gate.close();
        let plug = {
            let sequencer = self.sequencer.clone();
            tokio::spawn(async move { sequencer.submit(post(plug_channel.id, plug_user.id, "plug", "plug")).await })
        };
        let started = tokio::time::Instant::now();
        while !self.gate.writer_waiting() {
            if started.elapsed() > PATIENCE {
                panic!("the writer never reached the log with the plug message");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The plug's batch is stored next, then the held commands'.
        let held_batch = self.seen().len() + 1;

        let mut submits: Vec<Pin<Box<dyn Future<Output = Result<Appended>> + Send + '_>>> =
            commands.into_iter().map(|c| Box::pin(self.sequencer.submit(c)) as Pin<Box<_>>).collect();
        for submit in &mut submits {
            // One poll queues the command (the queue has room); it then waits for its answer.
            assert!(futures::poll!(submit.as_mut()).is_pending(), "a queued command waits for the writer");
        }
        drop(held);
        plug.await.expect("plug task").must("plug post");
        let results = futures::future::join_all(submits).await;

        let created: HashSet<(ChannelId, Seq)> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|a| a.created)
            .flat_map(|a| a.events.iter().map(|e| (e.channel_id, e.seq)))
            .collect();
        if !created.is_empty() {
            let seen = self.seen();
            let batch: HashSet<(ChannelId, Seq)> =
                seen.get(held_batch).into_iter().flatten().map(|e| (e.channel_id, e.seq)).collect();
            assert!(created.is_subset(&batch), "the held commands were appended in one batch");
        }
        results
    }
}

/// A channel value as the core builds one, before the Sequencer creates it.
pub(crate) fn new_channel(owner: UserId, kind: ChannelKind, name: &str) -> Channel {
    Channel {
        id: ChannelId::generate(),
        kind,
        name: name.to_owned(),
        topic: format!("about {name}"),
        created_at: Timestamp::now(),
        created_by: owner,
        dm_key: None,
        last_seq: 0,
        member_count: 0,
        archived_at: None,
    }
}

/// A new message, as the gateway submits one.
pub(crate) fn post(channel: ChannelId, sender: UserId, client_msg_id: &str, body: &str) -> Command {
    reply(channel, sender, client_msg_id, body, None)
}

pub(crate) fn reply(channel: ChannelId, sender: UserId, client_msg_id: &str, body: &str, to: Option<Seq>) -> Command {
    Command::Post {
        channel,
        sender,
        client_msg_id: ClientMsgId::parse(client_msg_id).expect("a valid client_msg_id"),
        body: Body::parse(body).expect("a valid body"),
        reply_to_seq: to,
        broadcast: Vec::new(),
    }
}

/// The seqs of `events`, for readable assertions.
pub(crate) fn seqs(events: &[Event]) -> Vec<Seq> {
    events.iter().map(|e| e.seq).collect()
}
