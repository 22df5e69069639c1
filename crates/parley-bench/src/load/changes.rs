//! Edits and reactions mixed into a sender's messages (`throughput --edits
//! --reactions`), each with its own `client_msg_id`: as a `change` frame on
//! the sender's socket, answered by an `ack` like a send, or (`--changes-over
//! rest`) as a REST request on a task of its own that reports back to the
//! sender's session. A change is made to one of the sender's own stored
//! messages (learnt from its own deliveries), so every one is allowed and
//! each stores exactly one event that every member of the channel must
//! receive.

use std::collections::VecDeque;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;

use super::api::Api;
use super::wire;

/// The share of a sender's operations that are edits and reactions (the
/// rest are messages), and how they are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Mix {
    pub edits: f64,
    pub reactions: f64,
    pub over: Via,
}

/// How a change is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A `change` frame on the sender's WebSocket.
    #[default]
    Ws,
    /// A REST request.
    Rest,
}

/// Refs of `change` frames count from here, above any send's `n`, and stay
/// exact in a JSON number (below 2^53).
pub const CHANGE_REFS: u64 = 1 << 50;

/// One operation of a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Message,
    Edit,
    React,
}

impl Mix {
    pub fn is_plain(&self) -> bool {
        self.edits <= 0.0 && self.reactions <= 0.0
    }

    /// What operation `k` of `sender` is: a fixed draw, so runs repeat.
    pub fn pick(&self, sender: u32, k: u64) -> Op {
        if self.is_plain() {
            return Op::Message;
        }
        let draw = (splitmix((u64::from(sender) << 40) ^ k) >> 11) as f64 / (1u64 << 53) as f64;
        if draw < self.edits {
            Op::Edit
        } else if draw < self.edits + self.reactions {
            Op::React
        } else {
            Op::Message
        }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Twenty reactions, the most a message may carry.
const EMOJI: [&str; 20] = [
    ":+1:", ":heart:", ":smile:", ":tada:", ":rocket:", ":eyes:", ":fire:", ":100:", ":joy:", ":clap:", ":pray:",
    ":star:", ":sunny:", ":coffee:", ":pizza:", ":beer:", ":cat:", ":dog:", ":apple:", ":bulb:",
];

/// Keep at most this many recent messages to change.
const TARGETS: usize = 64;

/// A sender's own stored messages, newest last, with the reactions each has.
#[derive(Debug, Default)]
pub struct Targets {
    messages: VecDeque<(i64, usize)>,
}

impl Targets {
    pub fn stored(&mut self, seq: i64) {
        if self.messages.len() == TARGETS {
            self.messages.pop_front();
        }
        self.messages.push_back((seq, 0));
    }

    /// The request for change `k`, or `None` while no message is stored yet
    /// (or every one has all its reactions).
    pub fn request(&mut self, op: Op, sender: u32, k: u64, sent_ns: u64) -> Option<Request> {
        // Nothing made for a message: this runs for every send.
        let client_msg_id = || format!("{sender}.c{k}");
        match op {
            Op::Message => None,
            Op::Edit => {
                let &(seq, _) = self.messages.back()?;
                Some(Request::Edit { seq, body: format!("t={sent_ns}; edited ({k})"), client_msg_id: client_msg_id() })
            }
            Op::React => {
                let (seq, reactions) = self.messages.iter_mut().rev().find(|(_, r)| *r < EMOJI.len())?;
                let emoji = EMOJI[*reactions];
                *reactions += 1;
                Some(Request::React { seq: *seq, emoji, client_msg_id: client_msg_id() })
            }
        }
    }
}

/// A change to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Edit { seq: i64, body: String, client_msg_id: String },
    React { seq: i64, emoji: &'static str, client_msg_id: String },
}

impl Request {
    /// The `change` frame of change `k` in channel `channel_id`.
    pub fn frame(&self, channel_id: &str, k: u64) -> String {
        match self {
            Request::Edit { seq, body, client_msg_id } => {
                wire::change_frame(channel_id, CHANGE_REFS + k, client_msg_id, *seq, "edit", Some(body), None)
            }
            Request::React { seq, emoji, client_msg_id } => {
                wire::change_frame(channel_id, CHANGE_REFS + k, client_msg_id, *seq, "react", None, Some(emoji))
            }
        }
    }
}

/// How a change went: when it was sent (ns since the run's epoch), its
/// round trip, and whether an event is owed for it, or the error.
#[derive(Debug)]
pub struct Done {
    pub sent_ns: u64,
    pub us: u32,
    pub result: Result<bool, String>,
}

/// Sends `request` on a task of its own; the answer comes back on `done`.
pub fn spawn(
    api: Api,
    token: String,
    channel: String,
    request: Request,
    sent_ns: u64,
    done: mpsc::UnboundedSender<Done>,
) {
    tokio::spawn(async move {
        let started = Instant::now();
        let result = match &request {
            Request::Edit { seq, body, client_msg_id } => api.edit(&token, &channel, *seq, body, client_msg_id).await,
            Request::React { seq, emoji, client_msg_id } => {
                api.react(&token, &channel, *seq, emoji, client_msg_id).await
            }
        };
        let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        // The session may have ended: nobody left to tell.
        let _ = done.send(Done { sent_ns, us, result: result.map_err(|e| format!("{e:#}")) });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_draws_its_shares() {
        let mix = Mix { edits: 0.1, reactions: 0.3, over: Via::Ws };
        let ops: Vec<Op> = (0..10_000).map(|k| mix.pick(7, k)).collect();
        let share = |op| ops.iter().filter(|o| **o == op).count() as f64 / ops.len() as f64;
        assert!((share(Op::Edit) - 0.1).abs() < 0.02, "{}", share(Op::Edit));
        assert!((share(Op::React) - 0.3).abs() < 0.02, "{}", share(Op::React));
        assert_eq!(Mix::default().pick(7, 3), Op::Message);
    }

    #[test]
    fn reactions_move_on_once_a_message_has_twenty() {
        let mut targets = Targets::default();
        assert_eq!(targets.request(Op::React, 1, 0, 0), None);
        targets.stored(5);
        targets.stored(9);
        let seqs: Vec<i64> = (0..41)
            .filter_map(|k| match targets.request(Op::React, 1, k, 0)? {
                Request::React { seq, .. } => Some(seq),
                Request::Edit { .. } => None,
            })
            .collect();
        assert_eq!(seqs.len(), 40);
        assert!(seqs[..20].iter().all(|s| *s == 9) && seqs[20..].iter().all(|s| *s == 5));
        assert!(matches!(targets.request(Op::Edit, 1, 50, 0), Some(Request::Edit { seq: 9, .. })));
    }
}
