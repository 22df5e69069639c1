//! The application: built from a config, bound to a listener, run until a
//! shutdown future resolves. Tests build it on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parley_core::chat::Chat;
use parley_core::feed::{EventBatch, EventFeed, FeedSubscription, LocalFeed};
use parley_core::model::EventKind;
use parley_core::ports::{EventLog, Health, Store};
use parley_core::sequencer::{OnStored, Sequencer};
use parley_core::stored::StoredWaiters;
use parley_core::writer::LogWriter;
use parley_kafka::KafkaConfig;
use parley_redis::{RedisPresence, RedisPresenceConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::backends::{open_store, Kafka};
use crate::config::{Cluster, Config};
use crate::connections::cap::ConnectionCap;
use crate::connections::Timeouts;
use crate::gateway::close::CloseCode;
use crate::gateway::hub::Hub;
use crate::gateway::limits::SessionLimits;
use crate::metrics::Metrics;
use crate::origin::Origins;
use crate::rate::RateLimits;
use crate::state::AppState;

/// How long open requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);
/// Open connections at most on `--metrics-listen`: a scraper or two, and an
/// operator. They come out of the open-file headroom (`connections::cap`).
const METRICS_CONNECTIONS: usize = 16;

pub struct Application {
    listener: TcpListener,
    /// `--metrics-listen`: `/metrics`, `/healthz` and `/readyz` for operators.
    metrics_listener: Option<TcpListener>,
    /// Open connections at most, within the open-file limit.
    cap: Arc<ConnectionCap>,
    state: AppState,
    store: Arc<dyn Store>,
    /// What the hub reads: the feed of every stored event. `None` on a
    /// processor-only node, which serves no sessions.
    feed: Option<Box<dyn FeedSubscription>>,
    /// The Sequencer's writer task (embedded mode) or the processor's and
    /// its writer (cluster mode): they end once the Sequencer handles are
    /// gone (the router's with it) and, for the processor, `stop` is cancelled.
    background: Vec<JoinHandle<()>>,
    stop: CancellationToken,
    /// Cluster mode with Redis: withdrawn at shutdown, so this node's users
    /// go offline at once rather than when its claim lapses.
    presence: Option<(Arc<RedisPresence>, Vec<JoinHandle<()>>)>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        // Before anything opens files: a limit too low to serve is said at once.
        let max_connections = crate::connections::cap::limit(config.limits.max_connections)?;
        let store = open_store(&config).await?;
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let origins = own_origins(&config, listener.local_addr()?);
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding {addr} (metrics)"))?),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        let cap = ConnectionCap::new(max_connections, metrics.clone());
        let stop = CancellationToken::new();

        let stored = Arc::new(StoredWaiters::default());
        let Wiring { chat, feed, background, mut ready_checks } = match &config.cluster {
            None => build_embedded(store.clone(), &metrics).await?,
            Some(cluster) => build_cluster(store.clone(), cluster, &metrics, stored.clone(), &stop).await?,
        };
        let gateway = config.cluster.as_ref().is_none_or(|c| c.role.gateway());
        let mut hub = Hub::new(metrics.clone(), config.session_queue, stored);
        let mut presence = None;
        if let Some(cluster) = config.cluster.as_ref().filter(|c| c.role.gateway()) {
            match &cluster.redis {
                Some(url) => {
                    let settings =
                        RedisPresenceConfig { prefix: cluster.prefix.clone(), ..RedisPresenceConfig::default() };
                    let redis = RedisPresence::connect(url.expose(), settings).await.context("connecting to Redis")?;
                    let (relay, relays) = tokio::sync::mpsc::unbounded_channel();
                    let redis = Arc::new(redis);
                    hub = hub.relaying(relay, redis.clone());
                    ready_checks.push(("redis", redis.clone()));
                    presence = Some((redis, relays));
                }
                None => tracing::warn!("no --redis: presence, typing, read markers reach only this node's sessions"),
            }
        }
        let hub = Arc::new(hub);
        let chat = chat.seeing(hub.clone());
        let presence = presence.map(|(redis, relays)| {
            let tasks =
                crate::gateway::presence::spawn(redis.clone(), hub.clone(), store.clone(), relays, stop.clone());
            (redis, tasks)
        });
        let auth = Auth::new(store.clone()).await?;
        let state = AppState {
            chat,
            auth: Arc::new(auth),
            rates: Arc::new(RateLimits::new(config.send_rate, &config.rate_limits)),
            hub,
            origins: Arc::new(origins),
            session_limits: Arc::new(SessionLimits::new(
                config.limits.max_sessions_per_user,
                config.limits.max_sessions_per_address,
                metrics.clone(),
            )),
            metrics,
            ready_checks,
            config: Arc::new(config),
            tasks: TaskTracker::new(),
        };
        let feed = gateway.then_some(feed);
        Ok(Application { listener, metrics_listener, cap, state, store, feed, background, stop, presence })
    }

    /// The shared state, for tests that drive a session without a socket.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| self.state.config.listen)
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where `--metrics-listen` bound, if it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then drains: open requests get
    /// [`DRAIN`] to finish, the Sequencers commit what they were given, the
    /// processor finishes its step, and the store closes.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { listener, metrics_listener, cap, state, store, feed, background, stop, presence } = self;
        let mode = match &state.config.cluster {
            None if state.config.database.is_some() => "postgres".to_owned(),
            None => format!("embedded in {}", state.config.data_dir.display()),
            Some(cluster) => format!("cluster, role {:?}", cluster.role).to_lowercase(),
        };
        // `metrics=` names the metrics listener's address (tests and the
        // benchmark read it, as they read `addr=`), else where /metrics is.
        let metrics_at = match (&metrics_listener, &state.config.metrics_token) {
            (Some(private), _) => private.local_addr()?.to_string(),
            (None, Some(_)) => "bearer".to_owned(),
            (None, None) => "off".to_owned(),
        };
        tracing::info!(
            addr = %listener.local_addr()?,
            metrics = %metrics_at,
            mode = %mode,
            max_connections = cap.limit(),
            "parley listening"
        );
        let (hub, tasks, metrics) = (state.hub.clone(), state.tasks.clone(), state.metrics.clone());
        let deliverer = crate::webhooks::Deliverer {
            store: store.clone(),
            node: format!("node-{:016x}", rand::random::<u64>()),
            allow_private: state.config.webhook_allow_private,
            backoff: state.config.webhook_backoff,
        };
        let webhooks = tokio::spawn(deliverer.run(stop.clone()));
        let timeouts = Timeouts::from(&state.config.limits);
        let dispatcher = feed.map(|feed| tokio::spawn(hub.clone().run_dispatcher(feed, stop.clone())));
        // Built before `state` goes into the public router: nothing else may
        // keep a handle of the Sequencer once the servers are done.
        let private = metrics_listener.map(|listener| (listener, crate::http::metrics_router(state.clone())));
        let router = match dispatcher {
            Some(_) => crate::http::router(state),
            None => crate::http::ops_router(state),
        };
        let private = private.map(|(listener, router)| {
            // Its own small cap, out of the open-file headroom, and its own
            // counters: the public port's figures stay the public port's.
            let scrapes = Arc::new(Metrics::default());
            let cap = ConnectionCap::new(METRICS_CONNECTIONS, scrapes.clone());
            tokio::spawn(crate::connections::serve(listener, router, cap, timeouts, scrapes, stop.clone()))
        });
        let server = crate::connections::serve(listener, router, cap, timeouts, metrics, stop.clone());
        let drained = async {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
            // Live sessions would hold the drain open: ask each to go (1001).
            hub.close_all(CloseCode::GoingAway);
            tokio::time::sleep(DRAIN).await;
        };
        tokio::select! {
            () = server => {}
            () = drained => tracing::warn!("open requests did not finish in time"),
        }
        tasks.close();
        if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
            tracing::warn!("sessions did not finish in time");
        }
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        // A delivery in flight is cut: its event goes again, with its key, later.
        webhooks.abort();
        if let Some(private) = private {
            let _ = tokio::time::timeout(DRAIN, private).await;
        }
        // The router, and with it the last handle of the Sequencer, is gone:
        // the writer finishes its queue and stops; the processor's once the
        // processor has returned.
        let finishing = async {
            for task in background {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(DRAIN, finishing).await.is_err() {
            tracing::warn!("the writers did not finish in time");
        }
        if let Some((redis, tasks)) = presence {
            if let Err(error) = redis.shutdown().await {
                tracing::warn!(error = %error, "could not withdraw this node's presence");
            }
            for task in tasks {
                task.abort();
            }
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What one mode is wired from: the rules over their writer, the feed the
/// hub reads, the writers' tasks, and what `/readyz` asks besides the store.
struct Wiring {
    chat: Chat,
    feed: Box<dyn FeedSubscription>,
    background: Vec<JoinHandle<()>>,
    ready_checks: Vec<(&'static str, Arc<dyn Health>)>,
}

/// Embedded mode: the Sequencer in this process writes the store and
/// publishes each committed batch to the in-process feed.
async fn build_embedded(store: Arc<dyn Store>, metrics: &Arc<Metrics>) -> anyhow::Result<Wiring> {
    let local = LocalFeed::default();
    let publish = local.clone();
    let log = store.clone() as Arc<dyn EventLog>;
    let (sequencer, writer) = Sequencer::start(log, counting(metrics.clone(), move |e| publish.publish_now(e)));
    // Subscribed before anything can be stored, so the hub misses nothing.
    let feed = local.subscribe().await?;
    Ok(Wiring { chat: Chat::new(store, Arc::new(sequencer)), feed, background: vec![writer], ready_checks: Vec::new() })
}

/// Cluster mode: every change goes through Kafka's command log, so that a
/// channel's one writer is the processor that owns its partition; a node
/// with the processor role runs one, supervised.
async fn build_cluster(
    store: Arc<dyn Store>,
    cluster: &Cluster,
    metrics: &Arc<Metrics>,
    stored: Arc<StoredWaiters>,
    stop: &CancellationToken,
) -> anyhow::Result<Wiring> {
    let kafka = Kafka::connect(cluster).await?;
    let feed: Arc<dyn EventFeed> = kafka.feed.clone();
    let mut background = Vec::new();
    if cluster.role.processor() {
        let log = store.clone() as Arc<dyn EventLog>;
        let (writer, task) = Sequencer::start(log, counting(metrics.clone(), |_| {}));
        let group = Kafka::processor_group(cluster);
        let processor = supervise_processor(kafka.config.clone(), group, writer, feed.clone(), stop.clone());
        background.extend([task, processor]);
    }
    let chat = Chat::new(store.clone(), Arc::new(LogWriter::new(kafka.commands.clone(), stored, store)));
    let ready_checks: Vec<(&'static str, Arc<dyn Health>)> = vec![("kafka", kafka.commands.clone())];
    Ok(Wiring { chat, feed: feed.subscribe().await?, background, ready_checks })
}

/// Runs the processor until `stop`. One that cannot start or fails for
/// good (Kafka gone at start) starts again after a pause: a node never
/// stays without the processor it was asked to run.
fn supervise_processor(
    config: KafkaConfig,
    group: String,
    writer: Sequencer,
    feed: Arc<dyn EventFeed>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let run = parley_kafka::run_processor(config.clone(), &group, writer.clone(), feed.clone(), stop.clone());
            match run.await {
                Ok(()) => return,
                Err(error) => tracing::error!(error = %error, "the processor stopped; restarting"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    })
}

/// Counts each committed batch in the metrics, then hands it to `publish`.
fn counting(metrics: Arc<Metrics>, publish: impl Fn(EventBatch) + Send + Sync + 'static) -> OnStored {
    Arc::new(move |events: EventBatch| {
        let messages = events.iter().filter(|e| matches!(e.kind, EventKind::Message { .. })).count();
        metrics.stored(events.len() as u64, messages as u64);
        publish(events);
    })
}

/// The origins that may use the session cookie: `--public-url`, else the
/// bound address's own, and `--allowed-origin`s.
fn own_origins(config: &Config, bound: SocketAddr) -> Origins {
    let origins = Origins::new(config.public_url.as_ref(), bound, &config.allowed_origins);
    if config.public_url.is_none() && bound.ip().is_unspecified() {
        let own: Vec<String> = origins.own().iter().map(ToString::to_string).collect();
        tracing::warn!(
            own = %own.join(" "),
            "listening on every address without --public-url: only these origins may use the session cookie"
        );
    }
    origins
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
