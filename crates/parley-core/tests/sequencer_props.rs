//! A property of the Sequencer over a real SQLite log: random interleavings
//! of sends, retries (the same `client_msg_id` again), joins and leaves over
//! several channels and people always leave logs without holes, one event
//! per `(channel, sender, client_msg_id)`, and membership checked at each
//! event's place.
//!
//! A case is waves of commands. An ordered wave is queued in one go
//! (`submit_all`) and a model predicts every answer; a racing wave is
//! submitted by one task per command, in whatever order they reach the
//! writer, and its answers are checked against the log it left. Either way
//! the log itself is replayed at the end of the case.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parley_core::chat::Chat;
use parley_core::command::{Appended, Command};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, Event, EventKind, User};
use parley_core::parse::{Body, ChannelName, ClientMsgId, Username};
use parley_core::ports::{ChannelStore, EventLog, UserStore};
use parley_core::sequencer::Sequencer;
use parley_core::time::Timestamp;
use parley_core::{ErrorCode, Result};
use parley_sqlite::SqliteStore;
use proptest::prelude::*;

const CHANNELS: usize = 3;
const PEOPLE: usize = 4;
/// Few ids, so that the same one comes again often: a retry.
const MESSAGE_IDS: usize = 5;

#[derive(Debug, Clone, Copy)]
enum Op {
    Send { channel: usize, person: usize, id: usize },
    Join { channel: usize, person: usize },
    Leave { channel: usize, person: usize },
}

#[derive(Debug, Clone)]
struct Wave {
    racing: bool,
    ops: Vec<Op>,
}

fn op() -> impl Strategy<Value = Op> {
    let (c, p) = (0..CHANNELS, 0..PEOPLE);
    prop_oneof![
        3 => (c.clone(), p.clone(), 0..MESSAGE_IDS).prop_map(|(channel, person, id)| Op::Send { channel, person, id }),
        1 => (c.clone(), p.clone()).prop_map(|(channel, person)| Op::Join { channel, person }),
        1 => (c, p).prop_map(|(channel, person)| Op::Leave { channel, person }),
    ]
}

fn waves() -> impl Strategy<Value = Vec<Wave>> {
    let wave = (any::<bool>(), prop::collection::vec(op(), 1..16)).prop_map(|(racing, ops)| Wave { racing, ops });
    prop::collection::vec(wave, 1..8)
}

/// One SQLite store, Sequencer and runtime for every case; each case makes
/// its own people and channels.
struct Rig {
    runtime: tokio::runtime::Runtime,
    store: Arc<SqliteStore>,
    sequencer: Sequencer,
    chat: Chat,
    cases: AtomicU64,
    _dir: tempfile::TempDir,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let dir = tempfile::tempdir().expect("a data dir");
        let (store, sequencer, chat) = runtime.block_on(async {
            let store = Arc::new(SqliteStore::open(dir.path()).await.expect("the store opens"));
            let (sequencer, _task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, Arc::new(|_| {}));
            let chat = Chat::new(store.clone(), Arc::new(sequencer.clone()));
            (store, sequencer, chat)
        });
        Rig { runtime, store, sequencer, chat, cases: AtomicU64::new(0), _dir: dir }
    })
}

/// A case's people and channels; person 0 made every channel and is in it.
struct World {
    people: Vec<UserId>,
    channels: Vec<ChannelId>,
}

impl World {
    async fn new(rig: &Rig) -> World {
        let case = rig.cases.fetch_add(1, Ordering::Relaxed);
        let mut people = Vec::new();
        for i in 0..PEOPLE {
            let name = format!("p{case}u{i}");
            let user = User {
                id: UserId::generate(),
                username: Username::parse(&name).expect("a username"),
                display_name: name.clone(),
                created_at: Timestamp::now(),
                role: parley_core::model::ServerRole::Member,
                deactivated_at: None,
                bot: false,
            };
            rig.store
                .create_user(&user, "hash", &parley_core::accounts::Admission::by_owner())
                .await
                .expect("create_user");
            people.push(user.id);
        }
        let mut channels = Vec::new();
        for i in 0..CHANNELS {
            let name = ChannelName::parse(&format!("p{case}c{i}")).expect("a channel name");
            let channel = rig.chat.create_channel(people[0], name, ChannelKind::Public, None).await;
            channels.push(channel.expect("create_channel").id);
        }
        World { people, channels }
    }

    fn command(&self, op: Op) -> Command {
        match op {
            Op::Send { channel, person, id } => Command::Post {
                channel: self.channels[channel],
                sender: self.people[person],
                client_msg_id: ClientMsgId::parse(&format!("m{id}")).expect("an id"),
                body: Body::parse(&format!("from {person}")).expect("a body"),
                reply_to_seq: None,
                broadcast: Vec::new(),
            },
            Op::Join { channel, person } => {
                let user = self.people[person];
                Command::Join { channel: self.channels[channel], user, actor: user }
            }
            Op::Leave { channel, person } => {
                let user = self.people[person];
                Command::Leave { channel: self.channels[channel], user, actor: user }
            }
        }
    }
}

/// An answer the model expects: whether the command appended, and the
/// `seq` and type of the event it appended.
type Expected = (bool, Option<(i64, &'static str)>);

/// What the log holds, as far as the rules need: each channel's head, its
/// members, and the first event of each message key.
#[derive(Default)]
struct Model {
    heads: HashMap<ChannelId, i64>,
    members: HashSet<(ChannelId, UserId)>,
    posts: HashMap<(ChannelId, UserId, String), Event>,
}

impl Model {
    /// The log replayed, checking every event at its place in it.
    async fn replay(rig: &Rig, world: &World) -> Model {
        let mut model = Model::default();
        for &channel in &world.channels {
            let events = rig.store.events_after(channel, 0, 100_000).await.expect("events_after");
            let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>(), "the log of {channel} has holes");
            let head = rig.store.channel(channel).await.expect("channel").expect("the channel exists").last_seq;
            assert_eq!(head, events.len() as i64, "last_seq is the log's last event");
            model.heads.insert(channel, head);
            for event in events {
                match &event.kind {
                    EventKind::MemberJoined { user_id } => {
                        assert!(model.members.insert((channel, *user_id)), "joined twice: {event:?}");
                    }
                    EventKind::MemberLeft { user_id } => {
                        assert!(model.members.remove(&(channel, *user_id)), "left without being in: {event:?}");
                    }
                    EventKind::Message { client_msg_id, .. } => {
                        let sender = event.sender_id;
                        assert!(model.members.contains(&(channel, sender)), "sent by a non-member: {event:?}");
                        let key = (channel, sender, client_msg_id.clone());
                        assert!(model.posts.insert(key, event.clone()).is_none(), "a second event for {event:?}");
                    }
                    other => panic!("the waves make no changes to messages: {other:?}"),
                }
            }
            let members = rig.store.members(channel).await.expect("members");
            let stored: HashSet<UserId> = members.iter().map(|m| m.user.id).collect();
            let replayed: HashSet<UserId> =
                model.members.iter().filter(|(c, _)| *c == channel).map(|(_, u)| *u).collect();
            assert_eq!(stored, replayed, "the members of {channel} are those its log says");
        }
        model
    }

    /// What `command` answers when it comes next, applied to the model.
    fn expect(&mut self, command: &Command) -> Result<Expected, ErrorCode> {
        let (channel, kind) = match command {
            Command::Post { channel, sender, client_msg_id, .. } => {
                if self.posts.contains_key(&(*channel, *sender, client_msg_id.as_str().to_owned())) {
                    return Ok((false, None));
                }
                if !self.members.contains(&(*channel, *sender)) {
                    return Err(ErrorCode::Forbidden);
                }
                (*channel, "message")
            }
            Command::Join { channel, user, .. } if self.members.insert((*channel, *user)) => {
                (*channel, "member_joined")
            }
            Command::Leave { channel, user, .. } if self.members.remove(&(*channel, *user)) => {
                (*channel, "member_left")
            }
            Command::Join { .. } | Command::Leave { .. } => return Ok((false, None)),
            Command::Create { .. } | Command::Change { .. } => unreachable!("no creates or changes in a wave"),
        };
        let head = self.heads.entry(channel).or_default();
        *head += 1;
        Ok((true, Some((*head, kind))))
    }
}

/// Checks an ordered wave's answers against the model's, one by one.
fn check_ordered(model: &mut Model, commands: &[Command], answers: &[Result<Appended>]) {
    for (command, answer) in commands.iter().zip(answers) {
        let expected = model.expect(command);
        match (expected, answer) {
            (Err(code), Err(error)) => assert_eq!(code, error.code, "{command:?}"),
            (Ok((created, event)), Ok(appended)) => {
                assert_eq!(appended.created, created, "{command:?}");
                let got = appended.events.first().map(|e| (e.seq, e.kind.type_name()));
                match (event, command) {
                    (Some(_), _) => assert_eq!(got, event, "{command:?}"),
                    // A retry answers with the event first stored for its key.
                    (None, Command::Post { channel, sender, client_msg_id, .. }) => {
                        let first = &model.posts[&(*channel, *sender, client_msg_id.as_str().to_owned())];
                        assert_eq!(appended.events, vec![first.clone()], "{command:?}");
                    }
                    (None, _) => assert!(appended.events.is_empty(), "{command:?}"),
                }
                if let (Some(event), Command::Post { channel, sender, client_msg_id, .. }) =
                    (appended.events.first().filter(|_| created), command)
                {
                    model.posts.insert((*channel, *sender, client_msg_id.as_str().to_owned()), event.clone());
                }
            }
            (expected, answer) => panic!("{command:?}: expected {expected:?}, got {answer:?}"),
        }
    }
}

/// Checks a racing wave's answers against the log they left.
fn check_racing(after: &Model, commands: &[Command], answers: &[Result<Appended>]) {
    for (command, answer) in commands.iter().zip(answers) {
        match (command, answer) {
            (Command::Post { channel, sender, client_msg_id, .. }, Ok(appended)) => {
                let first = &after.posts[&(*channel, *sender, client_msg_id.as_str().to_owned())];
                assert_eq!(appended.events, vec![first.clone()], "one event per key: {command:?}");
            }
            (Command::Post { .. }, Err(error)) => assert_eq!(error.code, ErrorCode::Forbidden, "{command:?}"),
            (_, Ok(appended)) => assert!(appended.events.len() <= 1, "{command:?}"),
            (_, Err(error)) => panic!("{command:?} refused: {error}"),
        }
    }
}

async fn run(waves: Vec<Wave>) {
    let rig = rig();
    let world = World::new(rig).await;
    let mut model = Model::replay(rig, &world).await;
    for wave in waves {
        let commands: Vec<Command> = wave.ops.iter().map(|op| world.command(*op)).collect();
        if wave.racing {
            let tasks: Vec<_> = commands
                .iter()
                .cloned()
                .map(|command| tokio::spawn(async move { rig.sequencer.submit(command).await }))
                .collect();
            let mut answers = Vec::with_capacity(tasks.len());
            for task in tasks {
                answers.push(task.await.expect("a submit task"));
            }
            model = Model::replay(rig, &world).await;
            check_racing(&model, &commands, &answers);
        } else {
            let answers = rig.sequencer.submit_all(commands.clone()).await;
            check_ordered(&mut model, &commands, &answers);
        }
    }
    let replayed = Model::replay(rig, &world).await;
    assert_eq!(replayed.heads, model.heads, "the model and the log agree");
    assert_eq!(replayed.members, model.members);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn logs_stay_whole_under_any_interleaving(waves in waves()) {
        rig().runtime.block_on(run(waves));
    }
}
