//! The node's background task: renews its claim every `renew_every` (and
//! repairs Redis from the local truth when needed), and sweeps lapsed nodes
//! every `sweep_every`. It stops when the node's token is cancelled.

use std::sync::Arc;
use std::time::Duration;

use parley_core::{Error, ErrorCode};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info};

use crate::node::Node;

/// While Redis is down, the claim is tried this often (or every
/// `renew_every`, if shorter), so that calls stop failing soon after it is back.
const PROBE_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn run(node: Arc<Node>, stop: CancellationToken) {
    let config = &node.config;
    let probe_every = config.renew_every.min(PROBE_EVERY);
    let mut next_renew = Instant::now() + config.renew_every;
    // A first sweep at once clears what nodes of a stopped cluster left.
    let mut next_sweep = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = sleep_until(next_sweep) => {
                match node.sweep().await {
                    Ok(0) => {}
                    Ok(swept) => info!(node = %node.id, swept, "redis presence: swept lapsed nodes"),
                    Err(err) => failed(&node.id, "sweep", &err),
                }
                next_sweep = Instant::now() + config.sweep_every;
                continue;
            }
            _ = sleep_until(next_renew) => {}
            _ = node.wake.notified() => {}
        }
        next_renew = match node.renew().await {
            Ok(()) => Instant::now() + config.renew_every,
            Err(err) => {
                failed(&node.id, "renewal", &err);
                Instant::now() + probe_every
            }
        };
        if node.is_down() {
            next_renew = next_renew.min(Instant::now() + probe_every);
        }
    }
}

/// Redis being down is logged once where it is noticed (`Node::call`);
/// anything else is a bug worth a line each time.
fn failed(node: &str, what: &str, err: &Error) {
    if err.code == ErrorCode::Unavailable {
        debug!(node, error = %err, "redis presence: {what} failed");
    } else {
        error!(node, error = %err, "redis presence: {what} failed");
    }
}
