//! Counters rendered as Prometheus text at `/metrics`. Owned by the app (no
//! global recorder), so tests can run many apps in one process. Not the
//! `metrics` facade's Prometheus exporter: its histograms keep every sample
//! until the next scrape or upkeep, and this one takes a sample per live
//! delivery (a million a second in the fan-out benchmark); a bucket here is
//! one atomic add.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Upper bounds (ms) of the send-to-deliver histogram's buckets.
const LATENCY_BUCKETS_MS: [i64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

#[derive(Default)]
pub struct Metrics {
    /// HTTP responses by status class: 1xx … 5xx.
    responses: [AtomicU64; 5],
    events_stored: AtomicU64,
    messages_stored: AtomicU64,
    store_errors: AtomicU64,
    connections: AtomicI64,
    sessions: AtomicI64,
    /// Open TCP connections, against the cap ([`crate::connections::cap`]).
    http_connections: AtomicI64,
    http_connection_limit: AtomicU64,
    http_connections_refused: AtomicU64,
    /// Connections closed by a timeout: header, body, idle.
    timed_out: [AtomicU64; 3],
    /// Sessions refused: per user, per address.
    sessions_refused: [AtomicU64; 2],
    deliveries: AtomicU64,
    /// Cumulative counts per bucket of LATENCY_BUCKETS_MS, then +Inf.
    latency: [AtomicU64; LATENCY_BUCKETS_MS.len() + 1],
    latency_sum_ms: AtomicU64,
}

impl Metrics {
    pub fn response(&self, status: u16) {
        if let Some(counter) = self.responses.get(usize::from(status / 100).wrapping_sub(1)) {
            counter.fetch_add(1, Relaxed);
        }
    }

    pub fn stored(&self, events: u64, messages: u64) {
        self.events_stored.fetch_add(events, Relaxed);
        self.messages_stored.fetch_add(messages, Relaxed);
    }

    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Relaxed);
    }

    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Relaxed);
    }

    pub fn sessions_opened(&self) {
        self.sessions.fetch_add(1, Relaxed);
    }

    pub fn sessions_closed(&self) {
        self.sessions.fetch_sub(1, Relaxed);
    }

    pub fn http_connection_opened(&self) {
        self.http_connections.fetch_add(1, Relaxed);
    }

    pub fn http_connection_closed(&self) {
        self.http_connections.fetch_sub(1, Relaxed);
    }

    pub fn http_connection_limit(&self, limit: usize) {
        self.http_connection_limit.store(limit as u64, Relaxed);
    }

    /// A connection closed at accept: the cap was reached.
    pub fn http_connection_refused(&self) {
        self.http_connections_refused.fetch_add(1, Relaxed);
    }

    pub fn timed_out(&self, timeout: Timeout) {
        self.timed_out[timeout as usize].fetch_add(1, Relaxed);
    }

    pub fn session_refused(&self, limit: SessionLimit) {
        self.sessions_refused[limit as usize].fetch_add(1, Relaxed);
    }

    /// Events copied into session queues.
    pub fn fanned_out(&self, deliveries: u64) {
        self.deliveries.fetch_add(deliveries, Relaxed);
    }

    /// One live event handed to a client `ms` after it was stored.
    pub fn delivered_after(&self, ms: i64) {
        let ms = ms.max(0);
        let bucket = LATENCY_BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency[bucket].fetch_add(1, Relaxed);
        self.latency_sum_ms.fetch_add(ms as u64, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP parley_http_responses_total HTTP responses by status class.");
        let _ = writeln!(out, "# TYPE parley_http_responses_total counter");
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(out, "parley_http_responses_total{{class=\"{}xx\"}} {}", i + 1, counter.load(Relaxed));
        }
        counter(&mut out, "parley_events_stored_total", "Events appended to channel logs.", &self.events_stored);
        counter(&mut out, "parley_messages_stored_total", "Messages appended to channel logs.", &self.messages_stored);
        counter(&mut out, "parley_store_errors_total", "Requests that failed on the store.", &self.store_errors);
        counter(&mut out, "parley_events_delivered_total", "Events queued to live sessions.", &self.deliveries);
        let _ = writeln!(out, "# HELP parley_connections Open WebSocket connections.\n# TYPE parley_connections gauge");
        let _ = writeln!(out, "parley_connections {}", self.connections.load(Relaxed));
        let _ =
            writeln!(out, "# HELP parley_sessions Live sessions (WebSocket and SSE).\n# TYPE parley_sessions gauge");
        let _ = writeln!(out, "parley_sessions {}", self.sessions.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP parley_http_connections Open HTTP connections, upgraded ones included.\n\
             # TYPE parley_http_connections gauge\nparley_http_connections {}",
            self.http_connections.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP parley_http_connection_limit Open connections allowed (--max-connections).\n\
             # TYPE parley_http_connection_limit gauge\nparley_http_connection_limit {}",
            self.http_connection_limit.load(Relaxed)
        );
        counter(
            &mut out,
            "parley_http_connections_refused_total",
            "Connections closed at accept: the connection limit was reached.",
            &self.http_connections_refused,
        );
        let name = "parley_http_connections_timed_out_total";
        let _ = writeln!(out, "# HELP {name} Connections closed by a timeout.\n# TYPE {name} counter");
        for (timeout, count) in ["header", "body", "idle"].iter().zip(&self.timed_out) {
            let _ = writeln!(out, "{name}{{timeout=\"{timeout}\"}} {}", count.load(Relaxed));
        }
        let name = "parley_sessions_refused_total";
        let _ = writeln!(out, "# HELP {name} Sessions refused by a limit.\n# TYPE {name} counter");
        for (limit, count) in ["user", "address"].iter().zip(&self.sessions_refused) {
            let _ = writeln!(out, "{name}{{limit=\"{limit}\"}} {}", count.load(Relaxed));
        }
        let name = "parley_send_to_deliver_seconds";
        let _ = writeln!(out, "# HELP {name} From an event's commit to its write to a live session.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, count) in self.latency.iter().enumerate() {
            cumulative += count.load(Relaxed);
            match LATENCY_BUCKETS_MS.get(i) {
                Some(ms) => writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", *ms as f64 / 1000.0),
                None => writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}"),
            }
            .ok();
        }
        let _ = writeln!(out, "{name}_sum {}", self.latency_sum_ms.load(Relaxed) as f64 / 1000.0);
        let _ = writeln!(out, "{name}_count {cumulative}");
        out
    }
}

/// Why a connection was closed by the server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Its request's headers did not come in time.
    Header = 0,
    /// Its request's body came too slowly.
    Body = 1,
    /// It sat idle between requests for too long.
    Idle = 2,
}

/// Which limit refused a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLimit {
    User = 0,
    Address = 1,
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Relaxed));
}
