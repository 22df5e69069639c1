//! What every session of a run shares with the others and the coordinator:
//! counters, latency histograms, the clock, the phase signals, and the
//! delivery rings of the completion flow.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::time::Instant;

use tokio::sync::{mpsc, Notify, Semaphore};

use super::api::Api;
use super::plan::Protocol;
use super::stats::{Counters, Latency};

/// What every session of a run shares with the others and the coordinator.
pub struct Shared {
    pub protocol: Protocol,
    /// Messages from senders below this one are an earlier run's.
    pub first_sender: u32,
    pub counters: Counters,
    pub deliver: Latency,
    pub ack: Latency,
    /// Round trips of the edits and reactions, and where REST ones go.
    pub change: Latency,
    pub api: Option<Api>,
    /// Send times in message bodies count from here.
    pub epoch: Instant,
    /// Latencies count only for messages sent from here on (after warm-up).
    window_start_ns: AtomicU64,
    /// Per sender, for the completion flow; empty otherwise.
    pub completions: Vec<Completion>,
    /// Bounds the connects and hellos in progress at once.
    pub connect_gate: Semaphore,
}

impl Shared {
    /// Counts as this run's only the messages of senders `first..`.
    pub fn from_sender(self, first: u32) -> Shared {
        Shared { first_sender: first, ..self }
    }

    /// Sends the senders' edits and reactions to `api`.
    pub fn with_api(self, api: Option<Api>) -> Shared {
        Shared { api, ..self }
    }

    pub fn new(protocol: Protocol, completions: Vec<Completion>, connect_concurrency: usize) -> Shared {
        Shared {
            protocol,
            first_sender: 0,
            counters: Counters::default(),
            deliver: Latency::default(),
            ack: Latency::default(),
            change: Latency::default(),
            api: None,
            epoch: Instant::now(),
            window_start_ns: AtomicU64::new(u64::MAX),
            completions,
            connect_gate: Semaphore::new(connect_concurrency.max(1)),
        }
    }

    pub fn ns_at(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn window_start_ns(&self) -> u64 {
        self.window_start_ns.load(Acquire)
    }

    pub fn start_window_at(&self, ns: u64) {
        self.window_start_ns.store(ns, Release);
    }
}

/// The phases of a run after every session is ready, told to each in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Senders start.
    Go,
    /// Senders stop; receivers read on through the drain.
    StopSending,
    /// Every session closes.
    Stop,
}

/// Tells every session the phase. One small queue per session rather than
/// one shared `CancellationToken`: a session polls its phase on every frame,
/// and a token takes its one mutex on each poll, which thousands of sessions
/// on both cores would all contend for; an empty queue is a few atomics of
/// the session's own.
pub struct Phases {
    sessions: Vec<mpsc::Sender<Phase>>,
}

impl Phases {
    /// A queue for each of `count` sessions.
    pub fn new(count: usize) -> (Phases, Vec<mpsc::Receiver<Phase>>) {
        // Room for every phase: announcing never waits.
        let (senders, receivers) = (0..count).map(|_| mpsc::channel(3)).unzip();
        (Phases { sessions: senders }, receivers)
    }

    pub fn announce(&self, phase: Phase) {
        for session in &self.sessions {
            // A session that has ended dropped its queue: nothing to tell.
            let _ = session.try_send(phase);
        }
    }
}

/// For a sender whose window counts messages not yet delivered to every
/// member (fan-out): a ring of per-message delivery counts.
pub struct Completion {
    slots: Box<[AtomicU32]>,
    members: u32,
    done: AtomicU64,
    notify: Notify,
}

impl Completion {
    /// Larger than any window, so a slot is free again long before reuse.
    const RING: usize = 4096;

    pub fn new(members: u32) -> Completion {
        let slots = (0..Self::RING).map(|_| AtomicU32::new(0)).collect();
        Completion { slots, members, done: AtomicU64::new(0), notify: Notify::new() }
    }

    /// Counts one delivery of message `n`; the last one owed completes it.
    pub fn delivered(&self, n: u64) {
        let slot = &self.slots[(n % Self::RING as u64) as usize];
        if slot.fetch_add(1, Relaxed) + 1 == self.members {
            slot.store(0, Relaxed);
            self.done.fetch_add(1, Relaxed);
            self.notify.notify_one();
        }
    }

    /// Messages delivered to every member so far.
    pub fn done(&self) -> u64 {
        self.done.load(Relaxed)
    }

    /// Resolves after the next completion (at once if one came since the last call).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}
