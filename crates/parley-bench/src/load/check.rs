//! The run's consistency, settled after the drain: every acknowledged
//! message reached every session of its channel exactly once. Also the time
//! of each message's last delivery, which only all receivers together know.

use hdrhistogram::Histogram;
use serde::Serialize;

pub use crate::checker::Outcome;

use super::stats::{histogram, Percentiles, Snapshot};

/// What one sender sent: message `n` at `sent_ns[n]`, with `outcome[n]`.
#[derive(Debug, Clone, Default)]
pub struct SenderLog {
    /// Sessions in the sender's channel, its own included: deliveries owed per message.
    pub members: u32,
    pub sent_ns: Vec<u64>,
    pub outcome: Vec<Outcome>,
}

/// One message event a session received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sender: u32,
    pub n: u32,
    pub latency_us: u32,
}

/// The verdict of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Consistency {
    pub acked: u64,
    pub failed: u64,
    /// Sent and never answered (the socket went, or the drain ended first).
    pub unknown: u64,
    /// Deliveries owed: each acked message times the sessions of its channel.
    pub owed: u64,
    /// Deliveries of acked messages received (duplicates included).
    pub received: u64,
    pub missing: u64,
    pub duplicates: u64,
    /// Acked messages not delivered to every session.
    pub incomplete_messages: u64,
    /// Deliveries of messages never acked (an unknown outcome may still be stored).
    pub unacked_delivered: u64,
    /// Message events that no sender of this run sent.
    pub stray: u64,
    /// Seqs skipped on a session (events after the one expected).
    pub seq_gaps: u64,
    /// Events at or below a seq the session already had (duplicates or reordering).
    pub seq_regressions: u64,
    /// The edits and reactions mixed in, when there were any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    pub consistent: bool,
}

/// The edits and reactions of a run: each stored one owes its event to
/// every session of its channel. Counted, not named one by one: a missing
/// change shows as fewer received than owed, a duplicate as more.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Changes {
    pub sent: u64,
    pub stored: u64,
    /// Answered 200 with no event: it changed nothing.
    pub unchanged: u64,
    pub failed: u64,
    pub owed: u64,
    pub received: u64,
}

impl Consistency {
    /// Adds the changes counted after the drain; consistent only if every
    /// owed change event arrived, once.
    pub fn with_changes(mut self, counted: &Snapshot) -> Consistency {
        if counted.changes_sent == 0 {
            return self;
        }
        let changes = Changes {
            sent: counted.changes_sent,
            stored: counted.changes_stored,
            unchanged: counted.changes_unchanged,
            failed: counted.changes_failed,
            owed: counted.change_deliveries_owed,
            received: counted.change_deliveries,
        };
        self.consistent &= changes.received == changes.owed;
        self.changes = Some(changes);
        self
    }
}

/// Counts each message's deliveries over every session's record, and
/// records the last delivery of each acked message sent at or after
/// `window_start_ns` (only those delivered to every session).
pub fn check<'a>(
    senders: &[SenderLog],
    sessions: impl IntoIterator<Item = &'a [Delivery]>,
    seq_gaps: u64,
    seq_regressions: u64,
    window_start_ns: u64,
) -> (Consistency, Percentiles) {
    let mut counts: Vec<Vec<u32>> = senders.iter().map(|s| vec![0; s.sent_ns.len()]).collect();
    let mut last: Vec<Vec<u32>> = counts.clone();
    let mut verdict = Consistency { seq_gaps, seq_regressions, ..Consistency::default() };
    for deliveries in sessions {
        for d in deliveries {
            let slot = counts.get_mut(d.sender as usize).and_then(|c| c.get_mut(d.n as usize));
            match slot {
                Some(count) => {
                    *count += 1;
                    let latest = &mut last[d.sender as usize][d.n as usize];
                    *latest = (*latest).max(d.latency_us);
                }
                None => verdict.stray += 1,
            }
        }
    }
    let mut last_delivery: Histogram<u64> = histogram();
    for (s, log) in senders.iter().enumerate() {
        let owed = log.members;
        for (n, outcome) in log.outcome.iter().enumerate() {
            let count = counts[s][n];
            match outcome {
                Outcome::Ok => {
                    verdict.acked += 1;
                    verdict.owed += u64::from(owed);
                    verdict.received += u64::from(count);
                    verdict.missing += u64::from(owed.saturating_sub(count));
                    verdict.duplicates += u64::from(count.saturating_sub(owed));
                    if count < owed {
                        verdict.incomplete_messages += 1;
                    } else if log.sent_ns[n] >= window_start_ns {
                        last_delivery.saturating_record(u64::from(last[s][n]));
                    }
                }
                Outcome::Failed => verdict.failed += 1,
                Outcome::Unknown => verdict.unknown += 1,
            }
            if *outcome != Outcome::Ok {
                verdict.unacked_delivered += u64::from(count);
            }
        }
    }
    verdict.consistent = verdict.missing == 0 && verdict.duplicates == 0 && verdict.seq_regressions == 0;
    (verdict, Percentiles::of(&last_delivery))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(outcomes: &[Outcome]) -> SenderLog {
        SenderLog { members: 2, sent_ns: vec![10; outcomes.len()], outcome: outcomes.to_vec() }
    }

    fn d(sender: u32, n: u32, latency_us: u32) -> Delivery {
        Delivery { sender, n, latency_us }
    }

    #[test]
    fn every_acked_message_to_every_session_is_consistent() {
        let senders = [log(&[Outcome::Ok, Outcome::Ok, Outcome::Unknown])];
        let a = [d(0, 0, 100), d(0, 1, 200)];
        let b = [d(0, 0, 300), d(0, 1, 400), d(0, 2, 50)];
        let (verdict, last) = check(&senders, [&a[..], &b[..]], 0, 0, 0);
        assert!(verdict.consistent, "{verdict:?}");
        assert_eq!((verdict.acked, verdict.unknown, verdict.owed, verdict.unacked_delivered), (2, 1, 4, 1));
        assert_eq!(last.count, 2);
        assert!((last.max_ms - 0.4).abs() < 0.01);
    }

    #[test]
    fn a_missing_and_a_duplicate_delivery_are_counted_apart() {
        let senders = [log(&[Outcome::Ok, Outcome::Ok])];
        let a = [d(0, 0, 1), d(0, 0, 1), d(0, 1, 1), d(9, 0, 1)];
        let b = [d(0, 0, 1)];
        let (verdict, _) = check(&senders, [&a[..], &b[..]], 0, 0, 0);
        assert!(!verdict.consistent);
        assert_eq!((verdict.missing, verdict.duplicates, verdict.incomplete_messages), (1, 1, 1));
        assert_eq!(verdict.stray, 1);
    }
}
