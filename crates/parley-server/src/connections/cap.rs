//! The cap on open connections: below the process's open-file limit, so that
//! accepting never fails for want of a descriptor and the store always has
//! its files. Past the cap a new connection is accepted and closed at once,
//! rather than left in the kernel's queue where it would wait unanswered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;

/// Descriptors kept for everything that is not a client connection: an idle
/// embedded server holds 19 (SQLite's files for each pooled connection,
/// epoll, stdio); a cluster node adds up to 10 PostgreSQL connections,
/// librdkafka's sockets to every broker and Redis's. The one descriptor a
/// connection refused at the cap takes for an instant comes from here too.
pub const HEADROOM: usize = 128;
/// Below this many client connections the server would be of little use:
/// a start with a lower file limit is refused with advice.
const LEAST: usize = 64;
/// A refusal at the cap, or a failed accept, is logged at most this often
/// (each refusal is also counted in the metrics).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The most connections this process can hold: `wanted` (or, if `None`, all
/// it can), within its open-file limit less [`HEADROOM`].
pub fn limit(wanted: Option<usize>) -> anyhow::Result<usize> {
    let files = open_file_limit();
    let most = files.saturating_sub(HEADROOM);
    anyhow::ensure!(
        most >= LEAST,
        "the open-file limit ({files}) leaves room for {most} connections; raise it (ulimit -n, LimitNOFILE=) \
         to at least {}",
        LEAST + HEADROOM
    );
    Ok(match wanted {
        Some(wanted) if wanted > most => {
            tracing::warn!(
                max_connections = wanted,
                open_file_limit = files,
                using = most,
                "max-connections is above what the open-file limit allows"
            );
            most
        }
        Some(wanted) => wanted.max(1),
        None => most,
    })
}

/// The soft `RLIMIT_NOFILE`: what `accept` runs into.
fn open_file_limit() -> usize {
    #[cfg(unix)]
    {
        match rlimit::getrlimit(rlimit::Resource::NOFILE) {
            Ok((soft, _)) => return usize::try_from(soft).unwrap_or(usize::MAX),
            Err(error) => tracing::warn!(error = %error, "open-file limit unknown; assuming 1024"),
        }
    }
    1024
}

/// Counts open connections against the limit.
pub struct ConnectionCap {
    limit: usize,
    open: AtomicUsize,
    metrics: Arc<Metrics>,
}

/// One open connection's place under the cap, given back when dropped: it
/// travels with the socket, into a WebSocket after an upgrade too.
pub struct Permit(Arc<ConnectionCap>);

impl ConnectionCap {
    pub fn new(limit: usize, metrics: Arc<Metrics>) -> Arc<ConnectionCap> {
        metrics.http_connection_limit(limit);
        Arc::new(ConnectionCap { limit, open: AtomicUsize::new(0), metrics })
    }

    /// A place for one more connection, if there is one.
    pub fn admit(self: &Arc<Self>) -> Option<Permit> {
        let taken =
            self.open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < self.limit).then_some(open + 1));
        match taken {
            Ok(_) => {
                self.metrics.http_connection_opened();
                Some(Permit(self.clone()))
            }
            Err(_) => {
                self.metrics.http_connection_refused();
                None
            }
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.http_connection_closed();
    }
}

/// Lets a line be logged at most once per [`WARN_EVERY`], with how many
/// times it happened since: a flood of connections must not flood the log.
#[derive(Default)]
pub struct Throttle {
    last: Option<Instant>,
    unsaid: u64,
}

impl Throttle {
    /// Counts one more; `Some(count)` when it is time to say so.
    pub fn happened(&mut self) -> Option<u64> {
        self.unsaid += 1;
        if self.last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.unsaid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_and_recovers() {
        let cap = ConnectionCap::new(2, Arc::default());
        let (a, b) = (cap.admit(), cap.admit());
        assert!(a.is_some() && b.is_some());
        assert!(cap.admit().is_none(), "a third is refused");
        drop(a);
        assert!(cap.admit().is_some(), "a place is free again once one closes");
    }

    #[test]
    fn a_throttled_line_is_said_at_once_then_with_the_count_since() {
        let mut throttle = Throttle::default();
        assert_eq!(throttle.happened(), Some(1));
        assert_eq!((throttle.happened(), throttle.happened()), (None, None));
        throttle.last = Instant::now().checked_sub(WARN_EVERY);
        assert_eq!(throttle.happened(), Some(3));
    }

    #[test]
    fn a_wish_above_the_file_limit_is_lowered_to_it() {
        let most = limit(None).unwrap();
        assert_eq!(limit(Some(most + 1)).unwrap(), most);
        assert_eq!(limit(Some(5)).unwrap(), 5);
    }
}
