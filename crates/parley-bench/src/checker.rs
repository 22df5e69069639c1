//! The delivery checker. Clients record every send with its outcome and every
//! event they receive; the harness adds the server's final log and, for each
//! client, the channels it followed and from which `seq`. [`check`] reports
//! what the delivery contract (docs/delivery.md) forbids:
//!
//! - **lost**: a send acknowledged (`ok`: acked `accepted` or `stored`) whose
//!   message is not in the final log;
//! - **duplicates**: one message — (channel, sender, client_msg_id) — at two seqs;
//! - **conflicts**: two different events seen at one (channel, seq);
//! - **inversions**: on one connection, a live event below one already
//!   received live, that the client did not already have;
//! - **unfilled gaps**: seqs a follower never received, between the one it
//!   followed from and the end of the log;
//! - **missed**: acknowledged messages a follower never received (the
//!   messages among its unfilled gaps, named).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A client sent a message as `user`. A retry is another record with the same `client_msg_id`.
    Send { client: String, user: String, channel: String, client_msg_id: String, outcome: Outcome },
    /// A client received an event: live on its connection number `conn`, or paged over REST.
    Recv { client: String, conn: u32, channel: String, seq: i64, id: String, via: Via },
    /// An event of the server's final log.
    Log { channel: String, seq: i64, id: String, sender: String, client_msg_id: Option<String> },
    /// `client` followed `channel` and must have every event from `from_seq` to the end of the log.
    Follow { client: String, channel: String, from_seq: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Acknowledged: `accepted` or `stored` (or a REST 200/201/202).
    Ok,
    /// Refused with an error.
    Failed,
    /// No answer before the connection went: it may or may not be stored.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Live,
    Page,
}

/// Every record, in the order they were read (per client, the order it saw).
#[derive(Debug, Default)]
pub struct History {
    pub records: Vec<Record>,
}

impl History {
    /// Appends the records of JSON lines; blank lines are skipped.
    pub fn read(&mut self, input: impl BufRead) -> anyhow::Result<()> {
        for (number, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("line {}: {e}", number + 1))?;
            self.records.push(record);
        }
        Ok(())
    }

    pub fn push(&mut self, record: Record) {
        self.records.push(record);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub channel: String,
    pub user: String,
    pub client_msg_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub message: Message,
    pub seqs: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub channel: String,
    pub seq: i64,
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inversion {
    pub client: String,
    pub conn: u32,
    pub channel: String,
    pub seq: i64,
    pub after: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub client: String,
    pub channel: String,
    pub first: i64,
    pub last: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missed {
    pub client: String,
    pub message: Message,
    pub seq: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Messages by their final outcome: acknowledged at least once, else failed, else unknown.
    pub acked: usize,
    pub failed: usize,
    pub unknown: usize,
    pub log_events: usize,
    pub received: usize,
    pub lost: Vec<Message>,
    pub duplicates: Vec<Duplicate>,
    pub conflicts: Vec<Conflict>,
    pub inversions: Vec<Inversion>,
    pub unfilled_gaps: Vec<Gap>,
    pub missed: Vec<Missed>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicates.is_empty()
            && self.conflicts.is_empty()
            && self.inversions.is_empty()
            && self.unfilled_gaps.is_empty()
            && self.missed.is_empty()
    }
}

type Key = (String, String, String); // channel, user, client_msg_id

fn message(key: &Key) -> Message {
    Message { channel: key.0.clone(), user: key.1.clone(), client_msg_id: key.2.clone() }
}

pub fn check(history: &History) -> Report {
    let mut report = Report::default();

    // Each message's best outcome over its attempts.
    let mut outcomes: BTreeMap<Key, Outcome> = BTreeMap::new();
    // The final log: (channel, seq) → id, and each message's seqs.
    let mut log: BTreeMap<(String, i64), String> = BTreeMap::new();
    let mut message_seqs: BTreeMap<Key, BTreeSet<i64>> = BTreeMap::new();
    let mut seen_ids: BTreeMap<(String, i64), BTreeSet<String>> = BTreeMap::new();
    let mut last_seq: HashMap<String, i64> = HashMap::new();
    let mut follows: Vec<(String, String, i64)> = Vec::new();
    let mut received: HashMap<(String, String), BTreeSet<i64>> = HashMap::new();
    let mut live_high: HashMap<(String, u32, String), i64> = HashMap::new();

    for record in &history.records {
        match record {
            Record::Send { user, channel, client_msg_id, outcome, .. } => {
                let key = (channel.clone(), user.clone(), client_msg_id.clone());
                let best = outcomes.entry(key).or_insert(*outcome);
                *best = better(*best, *outcome);
            }
            Record::Log { channel, seq, id, sender, client_msg_id } => {
                report.log_events += 1;
                if let Some(previous) = log.insert((channel.clone(), *seq), id.clone()) {
                    if previous != *id {
                        report.conflicts.push(Conflict {
                            channel: channel.clone(),
                            seq: *seq,
                            ids: vec![previous, id.clone()],
                        });
                    }
                }
                seen_ids.entry((channel.clone(), *seq)).or_default().insert(id.clone());
                if let Some(cmid) = client_msg_id {
                    message_seqs.entry((channel.clone(), sender.clone(), cmid.clone())).or_default().insert(*seq);
                }
                let last = last_seq.entry(channel.clone()).or_insert(0);
                *last = (*last).max(*seq);
            }
            Record::Recv { client, conn, channel, seq, id, via } => {
                report.received += 1;
                seen_ids.entry((channel.clone(), *seq)).or_default().insert(id.clone());
                let have = received.entry((client.clone(), channel.clone())).or_default();
                if *via == Via::Live {
                    let high = live_high.entry((client.clone(), *conn, channel.clone())).or_insert(0);
                    if *seq < *high && !have.contains(seq) {
                        report.inversions.push(Inversion {
                            client: client.clone(),
                            conn: *conn,
                            channel: channel.clone(),
                            seq: *seq,
                            after: *high,
                        });
                    }
                    *high = (*high).max(*seq);
                }
                have.insert(*seq);
            }
            Record::Follow { client, channel, from_seq } => follows.push((client.clone(), channel.clone(), *from_seq)),
        }
    }

    for (key, outcome) in &outcomes {
        match outcome {
            Outcome::Ok => report.acked += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Unknown => report.unknown += 1,
        }
        if *outcome == Outcome::Ok && !message_seqs.contains_key(key) {
            report.lost.push(message(key));
        }
    }
    for (key, seqs) in &message_seqs {
        if seqs.len() > 1 {
            report.duplicates.push(Duplicate { message: message(key), seqs: seqs.iter().copied().collect() });
        }
    }
    for ((channel, seq), ids) in &seen_ids {
        if ids.len() > 1 && !report.conflicts.iter().any(|c| c.channel == *channel && c.seq == *seq) {
            report.conflicts.push(Conflict { channel: channel.clone(), seq: *seq, ids: ids.iter().cloned().collect() });
        }
    }

    // Which acked message sits at each (channel, seq), to name what a follower missed.
    let acked_at: HashMap<(String, i64), &Key> = message_seqs
        .iter()
        .filter(|(key, _)| outcomes.get(*key) == Some(&Outcome::Ok))
        .flat_map(|(key, seqs)| seqs.iter().map(move |seq| ((key.0.clone(), *seq), key)))
        .collect();
    let empty = BTreeSet::new();
    for (client, channel, from_seq) in follows {
        let last = last_seq.get(&channel).copied().unwrap_or(0);
        let have = received.get(&(client.clone(), channel.clone())).unwrap_or(&empty);
        let mut open: Option<i64> = None;
        for seq in from_seq.max(1)..=last {
            if have.contains(&seq) {
                if let Some(first) = open.take() {
                    report.unfilled_gaps.push(Gap {
                        client: client.clone(),
                        channel: channel.clone(),
                        first,
                        last: seq - 1,
                    });
                }
                continue;
            }
            open.get_or_insert(seq);
            if let Some(key) = acked_at.get(&(channel.clone(), seq)) {
                report.missed.push(Missed { client: client.clone(), message: message(key), seq });
            }
        }
        if let Some(first) = open {
            report.unfilled_gaps.push(Gap { client, channel, first, last });
        }
    }
    report
}

/// Acknowledged beats unknown beats failed: one acknowledgement is a promise.
fn better(a: Outcome, b: Outcome) -> Outcome {
    let rank = |o: Outcome| match o {
        Outcome::Ok => 2,
        Outcome::Unknown => 1,
        Outcome::Failed => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "messages: {} acknowledged, {} failed, {} unknown", self.acked, self.failed, self.unknown)?;
        writeln!(f, "log events: {}   received: {}", self.log_events, self.received)?;
        let rows: [(&str, usize, Vec<String>); 6] = [
            ("lost acknowledged", self.lost.len(), self.lost.iter().map(|m| format!("{m:?}")).collect()),
            ("duplicates", self.duplicates.len(), self.duplicates.iter().map(|d| format!("{d:?}")).collect()),
            ("two events at one seq", self.conflicts.len(), self.conflicts.iter().map(|c| format!("{c:?}")).collect()),
            ("order inversions", self.inversions.len(), self.inversions.iter().map(|i| format!("{i:?}")).collect()),
            (
                "gaps never filled",
                self.unfilled_gaps.len(),
                self.unfilled_gaps.iter().map(|g| format!("{g:?}")).collect(),
            ),
            ("acked but never received", self.missed.len(), self.missed.iter().map(|m| format!("{m:?}")).collect()),
        ];
        for (name, count, examples) in rows {
            writeln!(f, "{name:>26}: {count}")?;
            for example in examples.iter().take(5) {
                writeln!(f, "{:>28}{example}", "")?;
            }
        }
        writeln!(f, "{}", if self.is_clean() { "clean" } else { "BREACHES FOUND" })
    }
}

#[cfg(test)]
mod tests;
