//! The HTTP connections, from the accept to the router: each is taken under
//! a cap ([`cap`]), timed while it waits for a client ([`watch`], [`body`]),
//! and served by hyper's HTTP/1 with upgrades (WebSocket). A client that
//! connects and then holds on without finishing a request is let go; one
//! that is served is not hurried.

pub mod body;
pub mod cap;
mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use self::body::{MinRate, TooSlow};
use self::cap::{ConnectionCap, Permit, Throttle};
use self::watch::{Activity, Finished, Watched};
use crate::config::Limits;
use crate::metrics::{Metrics, Timeout};

/// After `accept` fails for want of descriptors (which the cap is there to
/// prevent: something else holds them), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The clocks of a connection, from [`Limits`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub keepalive: Duration,
    pub body_window: Duration,
    /// Bytes a body must bring in each window.
    pub body_least: u64,
}

impl From<&Limits> for Timeouts {
    fn from(limits: &Limits) -> Self {
        Timeouts {
            header: limits.header_timeout,
            keepalive: limits.keepalive_timeout,
            body_window: limits.body_timeout,
            body_least: u64::try_from(u128::from(limits.body_min_rate) * limits.body_timeout.as_millis() / 1000)
                .unwrap_or(u64::MAX),
        }
    }
}

/// Accepts connections and serves `router` on each until `stop`; then lets
/// the open requests finish (idle connections close at once) and returns
/// when every connection is done. Upgraded WebSockets are not waited for:
/// their sessions are closed by the hub.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cap: Arc<ConnectionCap>,
    timeouts: Timeouts,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let connections = TaskTracker::new();
    let (mut refusals, mut failures) = (Throttle::default(), Throttle::default());
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error, &mut failures, &stop).await;
                continue;
            }
        };
        // Past the cap the socket is closed here, at once: the client learns
        // now, and the kernel's queue keeps moving.
        let Some(permit) = cap.admit() else {
            if let Some(refused) = refusals.happened() {
                let limit = cap.limit();
                tracing::warn!(
                    max_connections = limit,
                    refused,
                    "connection limit reached: closing new connections at once"
                );
            }
            continue;
        };
        // Small frames go out at once: with Nagle's algorithm on, a frame
        // written while the last is unacknowledged waits for the client's
        // delayed ACK, up to 40 ms (docs/benchmarks.md).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(error = %error, "TCP_NODELAY not set on a connection");
        }
        let connection = Connection { router: router.clone(), peer, timeouts, metrics: metrics.clone() };
        connections.spawn(connection.run(stream, permit, stop.clone()));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

async fn accept_failed(error: &std::io::Error, log: &mut Throttle, stop: &CancellationToken) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    // The client left before it was taken: nothing to wait for.
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    if let Some(failed) = log.happened() {
        tracing::error!(error = %error, failed, "accept error");
    }
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
    }
}

/// What serving one connection needs.
struct Connection {
    router: Router,
    peer: SocketAddr,
    timeouts: Timeouts,
    metrics: Arc<Metrics>,
}

impl Connection {
    async fn run(self, stream: TcpStream, permit: Permit, stop: CancellationToken) {
        let activity = Activity::new();
        let io = TokioIo::new(Watched::new(stream, activity.clone(), permit));
        let (timeouts, peer) = (self.timeouts, self.peer);
        let metrics = self.metrics.clone();
        let serving = Arc::new(self);
        let service = {
            let activity = activity.clone();
            hyper::service::service_fn(move |request| serving.clone().respond(request, activity.request_started()))
        };
        // hyper's own header timeout stays off: it would also end idle
        // kept-alive connections ([`watch`]).
        let connection = http1::Builder::new().header_read_timeout(None).serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let expired = activity.expired(timeouts);
        tokio::pin!(expired);
        let mut draining = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(error = %error, "connection ended with an error");
                    }
                    return;
                }
                () = stop.cancelled(), if !draining => {
                    // An idle connection closes now; a busy one after its response.
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
                why = &mut expired => {
                    metrics.timed_out(why);
                    tracing::debug!(peer = %peer, timeout = ?why, "connection closed: it kept the server waiting");
                    return;
                }
            }
        }
    }

    /// One request: its body on the clock, the peer known to the handlers,
    /// and its [`watch::Busy`] held until the response has been written.
    async fn respond(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        busy: watch::Busy,
    ) -> Result<hyper::Response<Finished<Body>>, Infallible> {
        let too_slow = TooSlow::default();
        let (window, least) = (self.timeouts.body_window, self.timeouts.body_least);
        let mut request = request.map(|body| Body::new(MinRate::new(body, window, least, too_slow.clone())));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(too_slow.clone());
        let response = self.router.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
        if too_slow.tripped() {
            self.metrics.timed_out(Timeout::Body);
        }
        Ok(response.map(|body| Finished::new(body, busy)))
    }
}
