//! What a client's frames do once its session is ready: `typing` is
//! relayed (at most once a second per channel), `read` moves the read
//! marker, `send` posts a message and `change` changes one, each answered
//! with `ack` or `error` when the write completes, while the session goes
//! on reading.

use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::Sink;
use parley_core::chat::Submitted;
use parley_core::id::ChannelId;
use parley_core::parse::parse_seq;
use parley_core::parse::ClientMsgId;
use parley_core::presence::Mine;
use parley_core::writer::{Answer, Written};
use parley_core::Error;
use parley_protocol::{ClientFrame, ServerFrame};
use tokio::time::Instant;

use super::{error_frame, Outbound, Reply, Session};
use crate::gateway::hub::Frame;
use crate::http::error::public_message;
use crate::rate::Class;
use crate::send::{self, NewMessage};

/// The least time between two relayed `typing` frames of one session in one channel.
const TYPING_EVERY: Duration = Duration::from_secs(1);

impl<W: Sink<Outbound> + Unpin> Session<W> {
    /// Handles one client frame; returns an immediate answer if it has one.
    pub(super) async fn on_text(&mut self, text: &str, in_flight: &mut FuturesUnordered<Reply>) -> Option<Outbound> {
        let frame = match ClientFrame::parse(text) {
            Ok(frame) => frame,
            Err(error) => return Some(error_frame(None, &error.into())),
        };
        match frame {
            ClientFrame::Hello { .. } => Some(error_frame(None, &Error::bad_request("hello was already said"))),
            ClientFrame::Ping { reference } => Some(Outbound::Frame(Frame::new(&ServerFrame::Pong { reference }))),
            ClientFrame::Typing { channel_id } => {
                let Ok(channel) = channel_id.parse::<ChannelId>() else { return None };
                // Only channels this session follows, so the map stays bounded.
                if self.delivered.contains_key(&channel)
                    && self.typing.get(&channel).is_none_or(|at| at.elapsed() >= TYPING_EVERY)
                {
                    self.typing.insert(channel, Instant::now());
                    self.state.hub.typing(self.link.id, self.user.id, channel);
                }
                None
            }
            ClientFrame::Read { channel_id, seq } => {
                let result = async {
                    let channel = channel(&channel_id)?;
                    let seq = parse_seq(seq, "seq")?;
                    self.state.rates.user(Class::ReadMarkers, self.user.id)?;
                    self.state.chat.mark_read(self.user.id, channel, seq).await
                };
                match Box::pin(result).await {
                    // This session learns it through the hub too, like the user's others.
                    Ok(Some(marker)) => {
                        self.state.hub.mine(self.user.id, Mine::Read(marker));
                        None
                    }
                    Ok(None) => None,
                    Err(error) => Some(error_frame(None, &error)),
                }
            }
            ClientFrame::Change { reference, channel_id, client_msg_id, seq, action, body, emoji } => {
                let parsed = (|| {
                    let channel = channel(&channel_id)?;
                    let id = ClientMsgId::parse(&client_msg_id)?;
                    Ok::<_, Error>((channel, id, send::change(&action, seq, body.as_deref(), emoji.as_deref())?))
                })();
                match parsed {
                    Err(error) => Some(error_frame(Some(reference), &error)),
                    Ok((channel, id, change)) => {
                        let asked = Answer::Durable { member_through: self.delivered.get(&channel).copied() };
                        let (chat, user) = (self.state.chat.clone(), self.user.id);
                        let budget = self.state.rates.user(Class::Messages, user);
                        in_flight.push(Box::pin(async move {
                            let key = id.as_str().to_owned();
                            let changed = async {
                                budget?;
                                // A server admin moderates through REST, where their role is read anew.
                                chat.change(user, false, channel, id, change, asked).await
                            };
                            change_answer(reference, key, changed.await)
                        }));
                        None
                    }
                }
            }
            ClientFrame::Send { reference, channel_id, client_msg_id, body, reply_to_seq } => {
                let parsed = (|| {
                    let channel = channel(&channel_id)?;
                    Ok::<_, Error>((channel, NewMessage::parse(&body, &client_msg_id, reply_to_seq)?))
                })();
                match parsed {
                    Err(error) => Some(error_frame(Some(reference), &error)),
                    Ok((channel, message)) => {
                        let asked = Answer::Durable { member_through: self.delivered.get(&channel).copied() };
                        let (chat, user) = (self.state.chat.clone(), self.user.id);
                        let budget = self.state.rates.user(Class::Messages, user);
                        in_flight.push(Box::pin(async move {
                            let id = message.client_msg_id.as_str().to_owned();
                            let posted = send::post(&chat, budget, user, channel, message, asked).await;
                            answer(reference, id, posted)
                        }));
                        None
                    }
                }
            }
        }
    }
}

/// The answer to one `send`.
fn answer(reference: serde_json::Value, id: String, posted: Result<Submitted, Error>) -> ServerFrame {
    match posted {
        Ok(Submitted::Stored(posted)) => {
            ServerFrame::Ack { reference, client_msg_id: id, status: "stored".into(), seq: Some(posted.event.seq) }
        }
        // Cluster mode: durable in the command log; the event follows live.
        Ok(Submitted::Accepted) => {
            ServerFrame::Ack { reference, client_msg_id: id, status: "accepted".into(), seq: None }
        }
        Err(error) => ServerFrame::Error {
            reference: Some(reference),
            code: error.code.as_str().into(),
            message: public_message(&error),
        },
    }
}

/// The answer to one `change`: `stored` with its event's `seq` (the first
/// stored, for a retry), `unchanged` when it changed nothing, `accepted` in
/// a cluster.
fn change_answer(reference: serde_json::Value, id: String, changed: Result<Written, Error>) -> ServerFrame {
    let ack = |status: &str, seq| ServerFrame::Ack {
        reference: reference.clone(),
        client_msg_id: id.clone(),
        status: status.into(),
        seq,
    };
    match changed {
        Ok(Written::Stored(appended)) => match appended.events.first() {
            Some(event) => ack("stored", Some(event.seq)),
            None => ack("unchanged", None),
        },
        Ok(Written::Accepted) => ack("accepted", None),
        Err(error) => ServerFrame::Error {
            reference: Some(reference),
            code: error.code.as_str().into(),
            message: public_message(&error),
        },
    }
}

/// The channel a frame names; a malformed id is a channel not found.
fn channel(raw: &str) -> Result<ChannelId, Error> {
    raw.parse().map_err(|_| Error::not_found("channel not found"))
}
