//! A new message, the same over REST (`POST …/messages`) and the WebSocket
//! (`send`): parsed by one parser, and posted within the sender's budget.

use parley_core::chat::{Chat, Submitted};
use parley_core::id::{ChannelId, UserId};
use parley_core::parse::{parse_seq, Body, ClientMsgId, Seq};
use parley_core::writer::Answer;
use parley_core::Result;

/// A new message's fields, each checked (docs/protocol.md, "Messages").
pub struct NewMessage {
    pub body: Body,
    pub client_msg_id: ClientMsgId,
    pub reply_to_seq: Option<Seq>,
}

impl NewMessage {
    pub fn parse(body: &str, client_msg_id: &str, reply_to_seq: Option<i64>) -> Result<NewMessage> {
        Ok(NewMessage {
            body: Body::parse(body)?,
            client_msg_id: ClientMsgId::parse(client_msg_id)?,
            reply_to_seq: reply_to_seq.map(|s| parse_seq(s, "reply_to_seq")).transpose()?,
        })
    }
}

/// Posts `message` when `budget` (the sender's send rate, taken when the
/// request came) allows it. Past the budget, a retry of a message already
/// stored is answered with it all the same, as docs/delivery.md promises;
/// the store is asked only then, since asking first would cost every send
/// a read.
pub async fn post(
    chat: &Chat,
    budget: Result<()>,
    user: UserId,
    channel: ChannelId,
    message: NewMessage,
    answer: Answer,
) -> Result<Submitted> {
    let NewMessage { body, client_msg_id, reply_to_seq } = message;
    match budget {
        Ok(()) => chat.post(user, channel, client_msg_id, body, reply_to_seq, answer).await,
        Err(limited) => chat.stored_retry(user, channel, &client_msg_id).await?.ok_or(limited),
    }
}
