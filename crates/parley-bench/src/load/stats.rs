//! Shared counters and latency histograms. Sessions count with relaxed
//! atomics and collect latencies in a small local buffer that they pour into
//! the shared histogram now and then, so thousands of sessions never contend
//! for one lock per frame, and no session owns a histogram of its own (one
//! is hundreds of KiB).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are kept in microseconds, up to 10 minutes, to 3 significant digits.
const HIGHEST_US: u64 = 600_000_000;

pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, HIGHEST_US, 3).unwrap_or_else(|_| Histogram::new(3).expect("3 significant digits"))
}

/// Totals of the whole run so far, from every session.
#[derive(Debug, Default)]
pub struct Counters {
    /// `send` frames written.
    pub sent: AtomicU64,
    /// Acks, `stored` or `accepted` (the baseline counts a send as acked).
    pub acked: AtomicU64,
    /// Sends answered with an `error` frame.
    pub failed: AtomicU64,
    /// Message events received, every session together.
    pub delivered: AtomicU64,
    /// Deliveries owed for the acked messages (members of the channel per ack).
    pub owed: AtomicU64,
    /// Every frame received, of any type.
    pub frames: AtomicU64,
    pub error_frames: AtomicU64,
    /// Sessions that connected and got `ready`.
    pub ready: AtomicU64,
    /// Sessions that ended before the run told them to (closed, broken, refused).
    pub ended_early: AtomicU64,
    /// Sends a paced sender skipped because its window was full.
    pub stalls: AtomicU64,
    /// Paced sends written more than 1 ms after their scheduled time.
    pub late: AtomicU64,
    /// Senders that have stopped sending (told to, or ended): the drain
    /// waits for all, so no send slips in after it judged everything answered.
    pub senders_stopped: AtomicU64,
    /// Edits and reactions requested, answered with an event owed (stored,
    /// or accepted in a cluster), answered with nothing changed, and failed.
    pub changes_sent: AtomicU64,
    pub changes_stored: AtomicU64,
    pub changes_unchanged: AtomicU64,
    pub changes_failed: AtomicU64,
    /// Their events owed (members of the channel per stored change) and received.
    pub change_deliveries_owed: AtomicU64,
    pub change_deliveries: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            sent: self.sent.load(Relaxed),
            acked: self.acked.load(Relaxed),
            failed: self.failed.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            owed: self.owed.load(Relaxed),
            frames: self.frames.load(Relaxed),
            error_frames: self.error_frames.load(Relaxed),
            ended_early: self.ended_early.load(Relaxed),
            stalls: self.stalls.load(Relaxed),
            late: self.late.load(Relaxed),
            senders_stopped: self.senders_stopped.load(Relaxed),
            changes_sent: self.changes_sent.load(Relaxed),
            changes_stored: self.changes_stored.load(Relaxed),
            changes_unchanged: self.changes_unchanged.load(Relaxed),
            changes_failed: self.changes_failed.load(Relaxed),
            change_deliveries_owed: self.change_deliveries_owed.load(Relaxed),
            change_deliveries: self.change_deliveries.load(Relaxed),
            at: Instant::now(),
        }
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    pub delivered: u64,
    pub owed: u64,
    pub frames: u64,
    pub error_frames: u64,
    pub ended_early: u64,
    pub stalls: u64,
    pub late: u64,
    pub senders_stopped: u64,
    pub changes_sent: u64,
    pub changes_stored: u64,
    pub changes_unchanged: u64,
    pub changes_failed: u64,
    pub change_deliveries_owed: u64,
    pub change_deliveries: u64,
    pub at: Instant,
}

impl Snapshot {
    /// Sends and changes written and not yet answered.
    pub fn unanswered(&self) -> u64 {
        let changes = self.changes_stored + self.changes_unchanged + self.changes_failed;
        self.sent.saturating_sub(self.acked + self.failed) + self.changes_sent.saturating_sub(changes)
    }

    /// Every owed delivery, of messages and of changes, has arrived.
    pub fn all_delivered(&self) -> bool {
        self.delivered >= self.owed && self.change_deliveries >= self.change_deliveries_owed
    }

    /// Per-second rates of (sent, acked, delivered) since `earlier`.
    pub fn rates_since(&self, earlier: &Snapshot) -> (f64, f64, f64) {
        let secs = self.at.duration_since(earlier.at).as_secs_f64().max(1e-6);
        let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
        (rate(self.sent, earlier.sent), rate(self.acked, earlier.acked), rate(self.delivered, earlier.delivered))
    }
}

/// A histogram many sessions pour into.
pub struct Latency {
    histogram: Mutex<Histogram<u64>>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency { histogram: Mutex::new(histogram()) }
    }
}

impl Latency {
    fn pour(&self, samples: &[u32]) {
        let mut histogram = self.histogram.lock().unwrap_or_else(|p| p.into_inner());
        for &us in samples {
            histogram.saturating_record(u64::from(us));
        }
    }

    pub fn percentiles(&self) -> Percentiles {
        Percentiles::of(&self.histogram.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A session's unpoured samples: poured when 256 gather or 100 ms pass.
pub struct Samples {
    buffer: Vec<u32>,
    since: Instant,
}

impl Samples {
    const BATCH: usize = 256;
    const AGE: Duration = Duration::from_millis(100);

    pub fn new() -> Samples {
        Samples { buffer: Vec::new(), since: Instant::now() }
    }

    pub fn push(&mut self, us: u32, now: Instant, sink: &Latency) {
        if self.buffer.is_empty() {
            self.since = now;
        }
        self.buffer.push(us);
        if self.buffer.len() >= Self::BATCH || now.duration_since(self.since) >= Self::AGE {
            self.pour(sink);
        }
    }

    pub fn pour(&mut self, sink: &Latency) {
        if !self.buffer.is_empty() {
            sink.pour(&self.buffer);
            self.buffer.clear();
        }
    }
}

impl Default for Samples {
    fn default() -> Self {
        Samples::new()
    }
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: histogram.len(),
            mean_ms: histogram.mean() / 1000.0,
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_reach_the_histogram_by_count_or_age() {
        let sink = Latency::default();
        let mut samples = Samples::new();
        let start = Instant::now();
        for us in 1..=300 {
            samples.push(us, start, &sink);
        }
        assert_eq!(sink.percentiles().count, 256);
        samples.push(1000, start + Duration::from_millis(150), &sink);
        let all = sink.percentiles();
        assert_eq!(all.count, 301);
        assert!((all.max_ms - 1.0).abs() < 0.01, "{all:?}");
    }
}
