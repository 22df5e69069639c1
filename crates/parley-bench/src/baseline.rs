//! The bare baseline: an axum WebSocket server (`GET /ws`) that broadcasts
//! every text frame it receives to every connected socket, the sender's
//! included. No auth, no storage, no protocol: what the same stack does on
//! the same machine with nothing of Parley in the way, so fan-out figures can
//! be given as a share of it.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::serve::{Listener, ListenerExt};
use axum::Router;
use clap::Args;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// Frames one socket may fall behind by, as Parley's session queue bound.
/// A socket further behind loses the oldest (tokio's broadcast `Lagged`),
/// which the load generator reports as missing deliveries.
const QUEUE: usize = 4096;
/// Frames written per flush, as Parley's session batches its writes.
const WRITE_BATCH: usize = 256;

#[derive(Debug, Clone, Args)]
pub struct BaselineArgs {
    /// Address to listen on (port 0: any free port; the address is logged).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Set TCP_NODELAY on every accepted socket (axum's default, like
    /// Parley's, leaves Nagle's algorithm on).
    #[arg(long)]
    pub nodelay: bool,
}

/// Serves until SIGTERM or Ctrl-C. Logs `addr=` the way `parley serve` does.
pub async fn run(args: BaselineArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    eprintln!("baseline listening addr={} nodelay={}", listener.local_addr()?, args.nodelay);
    if args.nodelay {
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        serve(listener, stop_signal()).await
    } else {
        serve(listener, stop_signal()).await
    }
}

/// Serves on `listener` until `shutdown` resolves (sockets are dropped, not drained).
pub async fn serve<L>(listener: L, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    let (everyone, _) = broadcast::channel::<Utf8Bytes>(QUEUE);
    let app = Router::new().route("/ws", get(upgrade)).with_state(everyone);
    tokio::select! {
        served = axum::serve(listener, app) => served.context("serving"),
        () = shutdown => Ok(()),
    }
}

async fn upgrade(State(everyone): State<broadcast::Sender<Utf8Bytes>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| relay(socket, everyone))
}

/// One socket: what it sends goes to everyone; what anyone sends comes to it.
async fn relay(socket: WebSocket, everyone: broadcast::Sender<Utf8Bytes>) {
    let mut inbox = everyone.subscribe();
    let (mut output, mut input) = socket.split();
    loop {
        tokio::select! {
            frame = input.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let _ = everyone.send(text);
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            received = inbox.recv() => {
                let first = match received {
                    Ok(text) => text,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if output.feed(Message::Text(first)).await.is_err() {
                    break;
                }
                let mut written = 1;
                while written < WRITE_BATCH {
                    let Ok(text) = inbox.try_recv() else { break };
                    if output.feed(Message::Text(text)).await.is_err() {
                        return;
                    }
                    written += 1;
                }
                if output.flush().await.is_err() {
                    break;
                }
            }
        }
    }
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
