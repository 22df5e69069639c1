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
use parley_core::ports::{EventLog, Store};
use parley_core::sequencer::Sequencer;
use parley_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::config::Config;
use crate::gateway::hub::{Hub, CLOSE_GOING_AWAY};
use crate::metrics::Metrics;
use crate::rate::SendLimiter;
use crate::state::AppState;

/// How long open requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    state: AppState,
    store: Arc<SqliteStore>,
    sequencer: JoinHandle<()>,
    feed: Box<dyn FeedSubscription>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = Arc::new(
            SqliteStore::open(&config.data_dir)
                .await
                .with_context(|| format!("opening the store in {}", config.data_dir.display()))?,
        );
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let metrics = Arc::new(Metrics::default());
        let counted = metrics.clone();
        let feed = LocalFeed::default();
        let publish = feed.clone();
        let on_stored = Arc::new(move |events: EventBatch| {
            let messages = events.iter().filter(|e| matches!(e.kind, EventKind::Message { .. })).count();
            counted.stored(events.len() as u64, messages as u64);
            publish.publish_now(events);
        });
        let (sequencer, task) = Sequencer::start(store.clone() as Arc<dyn EventLog>, on_stored);
        let dyn_store: Arc<dyn Store> = store.clone();
        let auth = Auth::new(dyn_store.clone()).await?;
        // Subscribed before anything can be stored, so the hub misses nothing.
        let feed = feed.subscribe().await?;
        let state = AppState {
            chat: Chat::new(dyn_store, sequencer),
            auth: Arc::new(auth),
            sends: Arc::new(SendLimiter::new(config.send_rate)),
            hub: Arc::new(Hub::new(metrics.clone(), config.session_queue)),
            metrics,
            config: Arc::new(config),
            tasks: TaskTracker::new(),
        };
        Ok(Application { listener, state, store, sequencer: task, feed })
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

    /// Serves until `shutdown` resolves, then drains: open requests get
    /// [`DRAIN`] to finish, the Sequencer commits what it was given, and the
    /// store closes.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { listener, state, store, sequencer, feed } = self;
        tracing::info!(addr = %listener.local_addr()?, data_dir = %state.config.data_dir.display(), "parley listening");
        let (hub, tasks) = (state.hub.clone(), state.tasks.clone());
        let stop = CancellationToken::new();
        let dispatcher = tokio::spawn(hub.clone().run_dispatcher(feed, stop.clone()));
        let router = crate::http::router(state);
        let server = axum::serve(listener, router).with_graceful_shutdown(stop.clone().cancelled_owned());
        let drained = async {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
            // Live sessions would hold the drain open: ask each to go (1001).
            hub.close_all(CLOSE_GOING_AWAY);
            tokio::time::sleep(DRAIN).await;
        };
        tokio::select! {
            result = server => result.context("serving")?,
            () = drained => tracing::warn!("open requests did not finish in time"),
        }
        tasks.close();
        if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
            tracing::warn!("sessions did not finish in time");
        }
        let _ = dispatcher.await;
        // The router, and with it the last Sequencer handle, is gone: the
        // writer finishes its queue and stops.
        if tokio::time::timeout(DRAIN, sequencer).await.is_err() {
            tracing::warn!("the sequencer did not finish in time");
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
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
