//! The Sequencer: the one writer of channel logs. It appends commands with
//! group commit — every command waiting when a batch starts goes into one
//! transaction and one fsync — and resolves each caller only after the commit.
//!
//! Within a batch the store runs [`apply`](crate::apply::apply): each
//! channel's next `seq`, messages deduplicated on `(channel, sender,
//! client_msg_id)` (against the store and within the batch), membership
//! re-checked as of that point in the log, and a new channel refused a name
//! another channel has.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::command::{Appended, Applied, Command};
use crate::feed::EventBatch;
use crate::ports::EventLog;
use crate::{Error, Result};

/// Commands waiting for the writer. When full, `submit` waits: backpressure
/// reaches the callers instead of memory growing without bound.
const QUEUE_BOUND: usize = 16_384;
/// The most commands one transaction takes, so one batch cannot hold the
/// write lock for long.
const MAX_BATCH: usize = 4_096;

/// Called with each committed batch's new events, in commit order.
pub type OnStored = Arc<dyn Fn(EventBatch) + Send + Sync>;

struct Pending {
    command: Command,
    reply: oneshot::Sender<Result<Appended>>,
}

/// A handle to the writer task; cheap to clone. The task ends, after finishing
/// what it was given, once every handle is dropped.
#[derive(Clone)]
pub struct Sequencer {
    queue: mpsc::Sender<Pending>,
}

impl Sequencer {
    /// Starts the writer over `log`. `on_stored` is called with each committed
    /// batch's new events, in commit order, before that batch's callers are
    /// answered. It runs on the answering task, so the next batch may already
    /// be committed when it is called.
    pub fn start(log: Arc<dyn EventLog>, on_stored: OnStored) -> (Sequencer, JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE_BOUND);
        let task = tokio::spawn(run(log, rx, on_stored));
        (Sequencer { queue }, task)
    }

    /// Appends `command` and waits until it is durable. Dropping the returned
    /// future does not cancel a command already queued.
    pub async fn submit(&self, command: Command) -> Result<Appended> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { command, reply })
            .await
            .map_err(|_| Error::unavailable("the sequencer has stopped"))?;
        answer.await.map_err(|_| Error::unavailable("the sequencer has stopped"))?
    }

    /// Appends `commands` in this order — queued together, so they share as
    /// few batches as the writer takes — and answers each in the same order.
    pub async fn submit_all(&self, commands: Vec<Command>) -> Vec<Result<Appended>> {
        let stopped = || Error::unavailable("the sequencer has stopped");
        let mut answers = Vec::with_capacity(commands.len());
        for command in commands {
            let (reply, answer) = oneshot::channel();
            let queued = self.queue.send(Pending { command, reply }).await.is_ok();
            answers.push(queued.then_some(answer));
        }
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            results.push(match answer {
                Some(answer) => answer.await.unwrap_or_else(|_| Err(stopped())),
                None => Err(stopped()),
            });
        }
        results
    }
}

async fn run(log: Arc<dyn EventLog>, mut rx: mpsc::Receiver<Pending>, on_stored: OnStored) {
    // Batches are answered by a task of their own, in commit order, so the
    // next batch goes to the log as soon as one is committed while its
    // callers are answered. Two answered batches waiting hold the writer back.
    let (answers, waiting) = mpsc::channel(2);
    let answerer = tokio::spawn(answer(waiting, on_stored));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (commands, replies): (Vec<Command>, Vec<_>) = batch.drain(..).map(|p| (p.command, p.reply)).unzip();
        let outcome = log.append(commands).await;
        if answers.send((replies, outcome)).await.is_err() {
            break;
        }
        if rx.is_empty() {
            // Nothing is waiting: let the callers about to be answered send
            // their next command before the next batch is taken. Otherwise
            // closed-loop writers split into two halves that take turns.
            tokio::task::yield_now().await;
        }
    }
    drop(answers);
    let _ = answerer.await;
}

type Answers = (Vec<oneshot::Sender<Result<Appended>>>, Result<Applied>);

async fn answer(mut waiting: mpsc::Receiver<Answers>, on_stored: OnStored) {
    while let Some((replies, outcome)) = waiting.recv().await {
        match outcome {
            Ok(Applied { results, events }) => {
                if !events.is_empty() {
                    on_stored(events.into());
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, commands = replies.len(), "append batch failed");
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
