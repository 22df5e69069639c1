//! Steady load: each client in a task of its own sends at a fixed pace over a
//! set of channels while it reads, and rides out a lost connection as a real
//! client would ([`Client::recover`]); then [`settle`] waits for the cluster
//! and the clients to catch up before the checker looks.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use parley_bench::checker::{History, Outcome, Record};
use parley_testkit::process::ParleyProcess;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::client::{Client, Pending};
use crate::harness::{Cluster, Person};

/// Sends one client may have unanswered before it skips a beat (the server
/// stops reading a socket at 64).
const MAX_UNANSWERED: usize = 32;

pub struct Load {
    /// Sent to in turn.
    pub channels: Vec<String>,
    /// One send per client per `every`.
    pub every: Duration,
    pub until: Instant,
}

impl Load {
    pub fn new(channels: &[String], per_second: u32, lasting: Duration) -> Arc<Load> {
        Arc::new(Load {
            channels: channels.to_vec(),
            every: Duration::from_secs(1) / per_second,
            until: Instant::now() + lasting,
        })
    }

    /// Runs `client` under this load until `until`, reconnecting to the first
    /// of `nodes` that answers whenever its connection goes; returns it then,
    /// with sends possibly still unanswered.
    pub fn spawn(self: &Arc<Load>, mut client: Client, nodes: Vec<SocketAddr>) -> JoinHandle<Client> {
        let load = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(load.every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut sent = 0usize;
            while Instant::now() < load.until {
                tokio::select! {
                    _ = tick.tick() => {
                        if client.unanswered() < MAX_UNANSWERED {
                            let name = &client.who.name;
                            let pending = Pending {
                                channel: load.channels[sent % load.channels.len()].clone(),
                                client_msg_id: format!("{name}-{sent}"),
                                body: format!("{name} says {sent}"),
                            };
                            sent += 1;
                            // A send on a dead socket waits for `recover` like any unanswered one.
                            let _ = client.try_send(pending).await;
                        }
                    }
                    _ = tokio::time::sleep_until(load.until.into()) => {}
                    frame = client.next_frame() => match frame {
                        Some(frame) => {
                            if !client.handle(&frame).await {
                                client.recover(&nodes).await;
                            }
                        }
                        None => client.recover(&nodes).await,
                    }
                }
            }
            client
        })
    }
}

/// The end of a load: waits until every acknowledged send of `clients` is in
/// the log, then until every client holds each followed channel unbroken
/// through the log's end — reconnecting to `nodes` as needed and answering
/// its unknown sends by retrying them — and the end has stopped moving.
/// Gives up at `within`, leaving what is missing to the checker.
pub async fn settle(
    cluster: &Cluster,
    node: &ParleyProcess,
    reader: &Person,
    clients: &mut [Client],
    channels: &[String],
    nodes: &[SocketAddr],
    within: Duration,
) {
    let until = Instant::now() + within;
    // The log's ends every client has caught up with.
    let mut caught_up: Option<HashMap<String, i64>> = None;
    let nothing = HashMap::new();
    loop {
        // Answers first: a retried send may be acknowledged only now.
        join_all(clients.iter_mut().map(|c| c.catch_up(&nothing, nodes, until))).await;
        let acked: HashSet<(String, String, String)> = clients.iter().flat_map(|c| acked(&c.history)).collect();
        let mut logged = HashSet::new();
        let mut ends = HashMap::new();
        for channel in channels {
            let log = cluster.log(node, reader, channel).await;
            ends.insert(channel.clone(), log.last().and_then(|e| e["seq"].as_i64()).unwrap_or(0));
            for event in log {
                if let (Some(sender), Some(id)) = (event["sender_id"].as_str(), event["client_msg_id"].as_str()) {
                    logged.insert((channel.clone(), sender.to_owned(), id.to_owned()));
                }
            }
        }
        let stored = acked.is_subset(&logged);
        if stored && caught_up.as_ref() == Some(&ends) {
            return;
        }
        if Instant::now() >= until {
            let missing = acked.difference(&logged).count();
            eprintln!("settle: gave up after {within:?}: {missing} acknowledged sends not in the log");
            return;
        }
        if stored {
            let caught = join_all(clients.iter_mut().map(|c| c.catch_up(&ends, nodes, until))).await;
            if caught.into_iter().all(|c| c) {
                caught_up = Some(ends);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (channel, user, client_msg_id) of every acknowledged send in `history`.
fn acked(history: &History) -> Vec<(String, String, String)> {
    history
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Send { user, channel, client_msg_id, outcome: Outcome::Ok, .. } => {
                Some((channel.clone(), user.clone(), client_msg_id.clone()))
            }
            _ => None,
        })
        .collect()
}
