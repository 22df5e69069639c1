//! What a client writes, the same over REST and the WebSocket: a new
//! message (`POST …/messages`, `send`), parsed by one parser and posted
//! within the sender's budget; a change to a message (`PATCH`, `PUT`,
//! `DELETE` on it, `change`), whose target is checked by one function.

use parley_core::chat::{Chat, Submitted};
use parley_core::command::Change;
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, UserId};
use parley_core::parse::{parse_seq, Body, ClientMsgId, Seq};
use parley_core::writer::Answer;
use parley_core::{Error, Result};

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

/// The message a change names by its `seq`: a message is never at 0.
pub fn message_seq(seq: i64) -> Result<Seq> {
    if seq >= 1 {
        Ok(seq)
    } else {
        Err(Error::not_found("message not found"))
    }
}

/// The change a WebSocket `change` frame asks for (docs/protocol.md,
/// "Client → server"); REST names the same changes by method and path.
pub fn change(action: &str, seq: i64, body: Option<&str>, emoji: Option<&str>) -> Result<Change> {
    let target = message_seq(seq)?;
    let emoji = || Emoji::parse(emoji.ok_or_else(|| Error::bad_request("\"react\" and \"unreact\" need \"emoji\""))?);
    Ok(match action {
        "edit" => {
            let body = body.ok_or_else(|| Error::bad_request("\"edit\" needs \"body\""))?;
            Change::Edit { target, body: Body::parse(body)?, broadcast: Vec::new() }
        }
        "delete" => Change::Delete { target },
        "react" => Change::React { target, emoji: emoji()?, add: true },
        "unreact" => Change::React { target, emoji: emoji()?, add: false },
        "pin" => Change::Pin { target, pin: true },
        "unpin" => Change::Pin { target, pin: false },
        other => {
            let shown: String = other.chars().take(40).collect();
            return Err(Error::bad_request(format!(
                "unknown action {shown:?}: edit, delete, react, unreact, pin or unpin"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_frame_names_one_change() {
        assert!(matches!(change("edit", 3, Some(" fixed "), None), Ok(Change::Edit { target: 3, .. })));
        assert!(matches!(change("unreact", 3, None, Some(":tada:")), Ok(Change::React { add: false, .. })));
        assert!(matches!(change("pin", 9, None, None), Ok(Change::Pin { target: 9, pin: true })));
        let refused = |action, seq, body, emoji| change(action, seq, body, emoji).map(|_| ()).unwrap_err().message;
        assert_eq!(refused("edit", 3, None, None), "\"edit\" needs \"body\"");
        assert_eq!(refused("react", 3, None, None), "\"react\" and \"unreact\" need \"emoji\"");
        assert_eq!(
            refused("react", 3, None, Some("nope")),
            "emoji must be one emoji or a :shortcode: of the built-in list"
        );
        assert_eq!(refused("pin", 0, None, None), "message not found");
        assert_eq!(
            refused("shout", 3, None, None),
            "unknown action \"shout\": edit, delete, react, unreact, pin or unpin"
        );
    }
}
