//! A WebSocket session fed the frames a fuzz input spells, over in-memory
//! channels, against one real app (SQLite on tmpfs) made once per process.
//!
//! An input is lines. Each is a text frame, after `$C0` `$C1` `$C2` become
//! the ids of alice's public channel, her DM with bob and bob's channel she
//! is not in, and `$A` `$B` alice's and bob's ids; or a line starting with
//! `!` stands for what is not a text frame:
//!
//! | line | what happens |
//! |---|---|
//! | `!resume {json}` (first line only) | the session starts with that `resume`, read as `hello`'s, each seq counted back from the channel's head (so what is replayed does not grow with the runs before) |
//! | `!binary` `!big` `!broken` `!utf8` `!alive` `!close` | the transport's other reads |
//! | `!bob text` | bob posts `text` in `$C0` meanwhile |
//! | `!leave N` `!join N` | alice leaves or joins channel N meanwhile (REST) |
//!
//! The session must never panic, must answer every `send` it read (ack or
//! error with the `ref`), must write only well-formed server frames, and
//! must close, if it does, last and with a code of docs/protocol.md.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use futures::channel::mpsc;
use futures::{StreamExt, TryFutureExt};
use parley_core::id::ChannelId;
use parley_core::model::{ChannelKind, User};
use parley_core::parse::{Body, ChannelName, ClientMsgId, Password, Username};
use parley_core::writer::Answer;
use parley_protocol::{ClientFrame, ServerFrame};
use parley_server::auth::NewAccount;
use parley_server::gateway::session::{self, Inbound, Outbound, Resume, Settings};
use parley_server::state::AppState;
use parley_server::{Application, Config};
use tokio::sync::watch;

/// How long every `send` read may take to be answered before the run counts as a hang.
const ANSWERED_WITHIN: Duration = Duration::from_secs(10);

struct Fixture {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    alice: User,
    token_hash: String,
    bob: User,
    channels: [ChannelId; 3],
    posts: AtomicU64,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        // tmpfs when there is one: each send is a commit, and its fsync would set the pace.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("a data dir");
        let config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().into(),
            send_rate: 0,
            ..Config::default()
        };
        let fixture = runtime.block_on(async {
            let state = Application::build(config).await.expect("the app builds").state();
            let register = |name: &str| {
                let auth = state.auth.clone();
                let name = Username::parse(name).expect("a username");
                async move {
                    auth.register(NewAccount::by_owner(name, Password::parse("long enough").expect("a password"))).await
                }
            };
            let (alice, token, _) = register("alice").await.expect("alice");
            let (bob, _, _) = register("bob").await.expect("bob");
            let (_, token_hash) = state.auth.authenticate(&token).await.expect("alice's session");
            let chat = &state.chat;
            let name = |n: &str| ChannelName::parse(n).expect("a channel name");
            let general = chat.create_channel(alice.id, name("general"), ChannelKind::Public, None).await;
            let general = general.expect("general").id;
            chat.join(bob.id, general).await.expect("bob joins");
            let dm = chat.open_dm(alice.id, &[bob.id]).await.expect("a DM").id;
            let bobs = chat.create_channel(bob.id, name("bobs"), ChannelKind::Public, None).await.expect("bobs").id;
            (state, alice, token_hash, bob, [general, dm, bobs])
        });
        let (state, alice, token_hash, bob, channels) = fixture;
        Fixture { runtime, state, alice, token_hash, bob, channels, posts: AtomicU64::new(0), _dir: dir }
    })
}

/// One line of the input.
enum Step {
    Read(Inbound),
    BobPosts(String),
    Leave(usize),
    Join(usize),
}

/// Runs one session over the frames `data` spells, and checks what it wrote.
pub fn run(data: &[u8]) {
    let fixture = fixture();
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().peekable();
    let resume = match lines.peek().and_then(|line| line.strip_prefix("!resume ")) {
        Some(raw) => {
            let raw = fixture.substitute(raw);
            lines.next();
            serde_json::from_str::<BTreeMap<String, i64>>(&raw).unwrap_or_default()
        }
        None => BTreeMap::new(),
    };
    let mut steps = Vec::new();
    let mut sends = 0;
    let mut ending = None;
    for line in lines {
        let step = fixture.step(line);
        if let Step::Read(Inbound::Text(text)) = &step {
            sends += usize::from(matches!(ClientFrame::parse(text), Ok(ClientFrame::Send { .. })));
        }
        if let Step::Read(read @ (Inbound::TooLarge | Inbound::Broken | Inbound::BadData | Inbound::Closed)) = step {
            // The session reads nothing after these.
            ending = Some(read);
            break;
        }
        steps.push(step);
    }
    fixture.runtime.block_on(fixture.serve(resume, steps, sends, ending));
}

impl Fixture {
    fn substitute(&self, line: &str) -> String {
        let [c0, c1, c2] = self.channels.map(|c| c.to_string());
        line.replace("$C0", &c0)
            .replace("$C1", &c1)
            .replace("$C2", &c2)
            .replace("$A", &self.alice.id.to_string())
            .replace("$B", &self.bob.id.to_string())
    }

    fn step(&self, line: &str) -> Step {
        let channel = |n: &str| n.trim().parse::<usize>().unwrap_or(0) % 3;
        match line {
            "!binary" => Step::Read(Inbound::Binary),
            "!big" => Step::Read(Inbound::TooLarge),
            "!broken" => Step::Read(Inbound::Broken),
            "!utf8" => Step::Read(Inbound::BadData),
            "!alive" => Step::Read(Inbound::Alive),
            "!close" => Step::Read(Inbound::Closed),
            _ => match (line.strip_prefix("!bob "), line.strip_prefix("!leave "), line.strip_prefix("!join ")) {
                (Some(text), _, _) => Step::BobPosts(text.to_owned()),
                (_, Some(n), _) => Step::Leave(channel(n)),
                (_, _, Some(n)) => Step::Join(channel(n)),
                _ => Step::Read(Inbound::Text(self.substitute(line))),
            },
        }
    }

    /// `!resume`'s map with each seq counted back from its channel's head,
    /// read as `hello`'s; none if `hello`'s would be refused.
    async fn resume(&self, back: BTreeMap<String, i64>) -> Resume {
        let mut resume = BTreeMap::new();
        for (id, back) in back {
            let head = match id.parse::<ChannelId>() {
                Ok(channel) => self.state.chat.followed_channel(channel).await.ok().flatten().map_or(0, |c| c.last_seq),
                Err(_) => 0,
            };
            resume.insert(id, head.saturating_sub(back));
        }
        session::parse_resume(&resume).unwrap_or_default()
    }

    /// What a step does besides reading: done when the session reads it.
    async fn act(&self, step: Step) -> Inbound {
        let chat = &self.state.chat;
        // Refusals (alice leaving a DM, joining a channel she is in) are answers too.
        let _ = match step {
            Step::Read(read) => return read,
            Step::BobPosts(text) => match Body::parse(&text) {
                Ok(body) => {
                    let n = self.posts.fetch_add(1, Ordering::Relaxed);
                    let id = ClientMsgId::parse(&format!("bob-{n}")).expect("an id");
                    chat.post(self.bob.id, self.channels[0], id, body, None, Answer::Stored).await.map(|_| ())
                }
                Err(_) => Ok(()),
            },
            Step::Leave(n) => chat.leave(self.alice.id, self.channels[n]).await,
            Step::Join(n) => chat.join(self.alice.id, self.channels[n]).map_ok(|_| ()).await,
        };
        Inbound::Alive
    }

    async fn serve(
        &'static self,
        back: BTreeMap<String, i64>,
        steps: Vec<Step>,
        sends: usize,
        ending: Option<Inbound>,
    ) {
        // Every run starts from the same memberships, so that an input found
        // to fail fails again alone.
        let [general, _, bobs] = self.channels;
        self.state.chat.join(self.alice.id, general).await.expect("alice is in general");
        self.state.chat.leave(self.alice.id, bobs).await.expect("alice is not in bobs");
        let resume = self.resume(back).await;
        let (output, mut written) = mpsc::unbounded::<Outbound>();
        let (answered_tx, mut answered) = watch::channel(0usize);
        // After the steps, the input waits until every send is answered, then ends as the input did.
        let rest = async move {
            let all = answered.wait_for(|n| *n >= sends);
            if tokio::time::timeout(ANSWERED_WITHIN, all).await.is_err() {
                panic!("{} of {sends} sends answered", *answered.borrow());
            }
            ending.unwrap_or(Inbound::Closed)
        };
        let input = futures::stream::iter(steps).then(|step| self.act(step)).chain(futures::stream::once(rest));
        let settings = Settings { ping_every: Duration::from_secs(3600), idle_after: None };
        let served = tokio::spawn(session::serve(
            self.state.clone(),
            self.alice.clone(),
            self.token_hash.clone(),
            resume,
            Box::pin(input),
            output,
            settings,
        ));
        let mut closed = None;
        let mut answers = 0;
        while let Some(out) = written.next().await {
            assert!(closed.is_none(), "written after the close frame");
            match out {
                Outbound::Frame(frame) => {
                    if check_frame(frame.kind, frame.text.as_str()) {
                        answers += 1;
                        let _ = answered_tx.send(answers);
                    }
                }
                Outbound::Ping => {}
                // A `CloseCode`: one of docs/protocol.md's by its type.
                Outbound::Close(code, _) => {
                    closed = Some(code);
                }
            }
        }
        if let Err(error) = served.await {
            std::panic::resume_unwind(error.into_panic());
        }
        assert_eq!(answers, sends, "every send read is answered once");
    }
}

/// Checks one frame the session wrote; true when it answers a `send`.
fn check_frame(kind: &str, text: &str) -> bool {
    let frame: ServerFrame = serde_json::from_str(text).unwrap_or_else(|e| panic!("not a server frame ({e}): {text}"));
    assert_eq!(frame.type_name(), kind, "{text}");
    match &frame {
        ServerFrame::Error { message, .. } => {
            crate::assert_in_callers_terms(message);
            // `ref: null` reads back as no `ref`: look at the JSON.
            serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.get("ref").is_some())
        }
        ServerFrame::Ack { .. } => true,
        _ => false,
    }
}
