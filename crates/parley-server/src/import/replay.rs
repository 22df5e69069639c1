//! Commands replayed through the writer's rules, a batch at a time, each
//! with the time and ids it is stored under: `parley import` and the Slack
//! import alike.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use anyhow::{bail, Context};
use parley_core::command::{Appended, Change, Command, Stamp};
use parley_core::parse::Seq;
use parley_core::ports::Store;
use parley_core::time::Timestamp;

/// Commands replayed in one transaction.
const BATCH: usize = 512;

/// One command of the replay, with the time and ids of what it stores and
/// the `seq`s it must store them at.
pub(crate) struct Step {
    pub command: Command,
    pub stamp: Stamp,
    /// Where its events must land; empty for a command that may find its
    /// work done (a second Slack import).
    pub seqs: Vec<Seq>,
    /// Where it came from, for an error.
    pub origin: String,
    /// What the caller knows it by, handed back with what it stored.
    pub key: Option<String>,
}

/// The channels' steps as one sequence: the earliest next event first, each
/// channel's in its own order (a time that goes back within a channel, as
/// a cluster's failover may make, never reorders it).
pub(super) fn merged(mut queues: Vec<VecDeque<Step>>) -> impl Iterator<Item = Step> {
    let mut next: BinaryHeap<Reverse<(Timestamp, usize)>> = queues
        .iter()
        .enumerate()
        .filter_map(|(i, queue)| queue.front().map(|step| Reverse((step.stamp.at, i))))
        .collect();
    std::iter::from_fn(move || {
        let Reverse((_, i)) = next.pop()?;
        let step = queues[i].pop_front()?;
        if let Some(following) = queues[i].front() {
            next.push(Reverse((following.stamp.at, i)));
        }
        Some(step)
    })
}

/// Steps replayed a batch at a time. A channel's creation or rename is a
/// batch of its own: the names a batch knows are read when it starts.
pub(crate) struct Replay<'s> {
    store: &'s dyn Store,
    steps: Vec<Step>,
}

impl<'s> Replay<'s> {
    pub(crate) fn new(store: &'s dyn Store) -> Self {
        Replay { store, steps: Vec::with_capacity(BATCH) }
    }

    /// Queues `step`; replays the queue when it is full, or when `step`
    /// must be alone.
    pub(crate) async fn push(&mut self, step: Step) -> anyhow::Result<Vec<(Option<String>, Appended)>> {
        let alone =
            matches!(step.command, Command::Create { .. } | Command::Change { change: Change::Rename { .. }, .. });
        let mut done = Vec::new();
        if alone {
            done.extend(self.flush().await?);
        }
        self.steps.push(step);
        if alone || self.steps.len() >= BATCH {
            done.extend(self.flush().await?);
        }
        Ok(done)
    }

    /// Replays what is queued: what each step stored (or had stored
    /// before), with its key.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<Vec<(Option<String>, Appended)>> {
        if self.steps.is_empty() {
            return Ok(Vec::new());
        }
        let steps = std::mem::take(&mut self.steps);
        let (mut commands, mut stamps, mut checks) = (Vec::new(), Vec::new(), Vec::new());
        for Step { command, stamp, seqs, origin, key } in steps {
            commands.push(command);
            stamps.push(stamp);
            checks.push((seqs, origin, key));
        }
        let applied = self.store.replay(commands, stamps).await?;
        let mut done = Vec::with_capacity(checks.len());
        for ((want, origin, key), result) in checks.into_iter().zip(applied.results) {
            let appended = result.with_context(|| format!("{origin}: refused when replayed"))?;
            let seqs: Vec<Seq> = appended.events.iter().map(|e| e.seq).collect();
            if !want.is_empty() && (!appended.created || seqs != want) {
                bail!("{origin}: replayed at seqs {seqs:?}, not {want:?}");
            }
            done.push((key, appended));
        }
        Ok(done)
    }
}
