//! What a processor has done, counted as it goes: for logs, tests and a status page.

use std::sync::atomic::{AtomicU64, Ordering};

use parley_core::processor::Processed;

/// Counters of one [`Processor`](crate::Processor), shared with whoever reads
/// them while it runs.
#[derive(Debug, Default)]
pub struct ProcessorStats {
    steps: AtomicU64,
    commands: AtomicU64,
    published: AtomicU64,
    refused: AtomicU64,
    skipped: AtomicU64,
    retries: AtomicU64,
    failed_commits: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessorCounts {
    /// Steps done: processed and then committed (or the commit failed).
    pub steps: u64,
    /// Commands in those steps.
    pub commands: u64,
    /// Events published: new ones, and those first stored for retried commands.
    pub published: u64,
    /// Commands the rules refused (the sender had left the channel, say).
    pub refused: u64,
    /// Messages that were not a command this version reads: logged and skipped.
    pub skipped: u64,
    /// Failed tries of a step, each run again after a wait.
    pub retries: u64,
    /// Commits that failed (most after a rebalance): that step is processed again.
    pub failed_commits: u64,
}

impl ProcessorStats {
    pub fn snapshot(&self) -> ProcessorCounts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProcessorCounts {
            steps: get(&self.steps),
            commands: get(&self.commands),
            published: get(&self.published),
            refused: get(&self.refused),
            skipped: get(&self.skipped),
            retries: get(&self.retries),
            failed_commits: get(&self.failed_commits),
        }
    }

    pub(crate) fn add_step(&self, commands: usize, skipped: usize, processed: Processed) {
        let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
        add(&self.steps, 1);
        add(&self.commands, commands);
        add(&self.skipped, skipped);
        add(&self.published, processed.published);
        add(&self.refused, processed.refused);
    }

    pub(crate) fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_failed_commit(&self) {
        self.failed_commits.fetch_add(1, Ordering::Relaxed);
    }
}
