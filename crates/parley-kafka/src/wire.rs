//! The JSON forms in Kafka messages: a stored `Event` on the events topic, an
//! accepted `Command` on the commands topic; both keyed by channel id.
//!
//! A value is self-contained (the channel id is in it as well as in the
//! key) and carries every field exactly: ids as hyphenated UUIDs, `created_at`
//! as Unix milliseconds rather than the RFC 3339 text of the client protocol,
//! which would have to be parsed back. Field names never change once
//! released; a new event type is a new `type` value, which an older reader
//! refuses (and reports as lost, never skips silently). The same holds for a
//! new command type, which an older processor logs and skips: processors are
//! upgraded before the gateways that send it.

use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Event, EventKind};
use parley_core::parse::{Body, ClientMsgId};
use parley_core::sequencer::Command;
use parley_core::time::Timestamp;
use parley_core::Error;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The message key: the channel id, so a channel's events share a partition.
pub(crate) fn key(event: &Event) -> String {
    event.channel_id.to_string()
}

pub(crate) fn encode(event: &Event) -> Vec<u8> {
    let kind = match &event.kind {
        EventKind::Message { body, client_msg_id, reply_to_seq } => {
            WireKind::Message { body: body.clone(), client_msg_id: client_msg_id.clone(), reply_to_seq: *reply_to_seq }
        }
        EventKind::MemberJoined { user_id } => WireKind::MemberJoined { user_id: user_id.as_uuid() },
        EventKind::MemberLeft { user_id } => WireKind::MemberLeft { user_id: user_id.as_uuid() },
    };
    let wire = WireEvent {
        channel_id: event.channel_id.as_uuid(),
        seq: event.seq,
        id: event.id.as_uuid(),
        sender_id: event.sender_id.as_uuid(),
        created_at_ms: event.created_at.millis(),
        kind,
    };
    // Serializing plain strings and numbers to a Vec cannot fail.
    serde_json::to_vec(&wire).expect("an event serializes")
}

/// Decodes one message value; a value this version cannot read is `internal`
/// with the reason, for the log.
pub(crate) fn decode(value: &[u8]) -> Result<Event, Error> {
    let wire: WireEvent =
        serde_json::from_slice(value).map_err(|err| Error::internal(format!("undecodable feed message: {err}")))?;
    let kind = match wire.kind {
        WireKind::Message { body, client_msg_id, reply_to_seq } => {
            EventKind::Message { body, client_msg_id, reply_to_seq }
        }
        WireKind::MemberJoined { user_id } => EventKind::MemberJoined { user_id: UserId::from_uuid(user_id) },
        WireKind::MemberLeft { user_id } => EventKind::MemberLeft { user_id: UserId::from_uuid(user_id) },
    };
    Ok(Event {
        channel_id: ChannelId::from_uuid(wire.channel_id),
        seq: wire.seq,
        id: EventId::from_uuid(wire.id),
        sender_id: UserId::from_uuid(wire.sender_id),
        created_at: Timestamp::from_millis(wire.created_at_ms),
        kind,
    })
}

#[derive(Serialize, Deserialize)]
struct WireEvent {
    channel_id: Uuid,
    seq: i64,
    id: Uuid,
    sender_id: Uuid,
    created_at_ms: i64,
    #[serde(flatten)]
    kind: WireKind,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireKind {
    Message {
        body: String,
        client_msg_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
    },
    MemberJoined {
        user_id: Uuid,
    },
    MemberLeft {
        user_id: Uuid,
    },
}

/// A command as the processor reads it back.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub command: Command,
    /// When the gateway handed it to the log: how long it waited shows here.
    pub accepted_at: Timestamp,
}

/// Key and value of `command`, accepted at `accepted_at`; `None` for a
/// command that does not go through the log (only posts do: the rest are
/// rare and answered by the Sequencer directly).
pub(crate) fn encode_command(command: &Command, accepted_at: Timestamp) -> Option<(String, Vec<u8>)> {
    let Command::Post { channel, sender, client_msg_id, body, reply_to_seq } = command else {
        return None;
    };
    let wire = WireCommand::Post {
        channel_id: channel.as_uuid(),
        sender_id: sender.as_uuid(),
        client_msg_id: client_msg_id.as_str().to_owned(),
        body: body.as_str().to_owned(),
        reply_to_seq: *reply_to_seq,
        accepted_at_ms: accepted_at.millis(),
    };
    // Serializing plain strings and numbers to a Vec cannot fail.
    Some((channel.to_string(), serde_json::to_vec(&wire).expect("a command serializes")))
}

/// Decodes one command message. The text fields are parsed again, as at the
/// edge: a value this version cannot read, or one no gateway would have
/// accepted, is `internal` with the reason, for the log.
pub(crate) fn decode_command(value: &[u8]) -> Result<Accepted, Error> {
    let undecodable = |reason: String| Error::internal(format!("undecodable command message: {reason}"));
    let wire: WireCommand = serde_json::from_slice(value).map_err(|err| undecodable(err.to_string()))?;
    let WireCommand::Post { channel_id, sender_id, client_msg_id, body, reply_to_seq, accepted_at_ms } = wire;
    let command = Command::Post {
        channel: ChannelId::from_uuid(channel_id),
        sender: UserId::from_uuid(sender_id),
        client_msg_id: ClientMsgId::parse(&client_msg_id).map_err(|err| undecodable(err.message))?,
        body: Body::parse(&body).map_err(|err| undecodable(err.message))?,
        reply_to_seq,
    };
    Ok(Accepted { command, accepted_at: Timestamp::from_millis(accepted_at_ms) })
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireCommand {
    Post {
        channel_id: Uuid,
        sender_id: Uuid,
        client_msg_id: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
        accepted_at_ms: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn event(kind: EventKind) -> Event {
        Event {
            channel_id: ChannelId::from_uuid(id(1)),
            seq: 7,
            id: EventId::from_uuid(id(2)),
            sender_id: UserId::from_uuid(id(3)),
            created_at: Timestamp::from_millis(1_700_000_000_123),
            kind,
        }
    }

    #[test]
    fn a_message_has_this_form() {
        let message =
            event(EventKind::Message { body: "hé\n😀".into(), client_msg_id: "c1".into(), reply_to_seq: Some(5) });
        assert_eq!(
            String::from_utf8(encode(&message)).unwrap(),
            r#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":7,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":1700000000123,"type":"message","body":"hé\n😀","client_msg_id":"c1","reply_to_seq":5}"#
        );
        assert_eq!(key(&message), "00000000-0000-0000-0000-000000000001");
    }

    #[test]
    fn a_membership_event_has_this_form() {
        let joined = event(EventKind::MemberJoined { user_id: UserId::from_uuid(id(4)) });
        assert_eq!(
            String::from_utf8(encode(&joined)).unwrap(),
            r#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":7,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":1700000000123,"type":"member_joined","user_id":"00000000-0000-0000-0000-000000000004"}"#
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let user = UserId::generate();
        for kind in [
            EventKind::Message { body: "b".into(), client_msg_id: "m".into(), reply_to_seq: None },
            EventKind::Message { body: String::new(), client_msg_id: "m".into(), reply_to_seq: Some(0) },
            EventKind::MemberJoined { user_id: user },
            EventKind::MemberLeft { user_id: user },
        ] {
            let original = Event { created_at: Timestamp::now(), ..event(kind) };
            assert_eq!(decode(&encode(&original)).unwrap(), original);
        }
    }

    #[test]
    fn an_unknown_type_is_refused() {
        let value = br#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":1,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":0,"type":"poll_created"}"#;
        assert!(decode(value).is_err());
        assert!(decode(b"not json").is_err());
    }

    fn post(reply_to_seq: Option<i64>) -> Command {
        Command::Post {
            channel: ChannelId::from_uuid(id(1)),
            sender: UserId::from_uuid(id(3)),
            client_msg_id: ClientMsgId::parse("c1").unwrap(),
            body: Body::parse("hé\n😀").unwrap(),
            reply_to_seq,
        }
    }

    #[test]
    fn a_post_command_has_this_form() {
        let (key, value) = encode_command(&post(Some(5)), Timestamp::from_millis(1_700_000_000_123)).unwrap();
        assert_eq!(key, "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            String::from_utf8(value).unwrap(),
            r#"{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":"hé\n😀","reply_to_seq":5,"accepted_at_ms":1700000000123}"#
        );
        let (_, value) = encode_command(&post(None), Timestamp::from_millis(0)).unwrap();
        assert_eq!(
            String::from_utf8(value).unwrap(),
            r#"{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":"hé\n😀","accepted_at_ms":0}"#
        );
    }

    #[test]
    fn a_post_command_round_trips() {
        for reply_to_seq in [None, Some(1)] {
            let at = Timestamp::now();
            let (_, value) = encode_command(&post(reply_to_seq), at).unwrap();
            let accepted = decode_command(&value).unwrap();
            assert_eq!(accepted.accepted_at, at);
            assert_eq!(format!("{:?}", accepted.command), format!("{:?}", post(reply_to_seq)));
        }
    }

    #[test]
    fn only_posts_go_through_the_log() {
        let (channel, user) = (ChannelId::generate(), UserId::generate());
        assert!(encode_command(&Command::Join { channel, user, actor: user }, Timestamp::now()).is_none());
        assert!(encode_command(&Command::Leave { channel, user, actor: user }, Timestamp::now()).is_none());
    }

    #[test]
    fn an_unreadable_command_is_refused() {
        let post = |body: &str| {
            format!(
                r#"{{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":{body},"accepted_at_ms":0}}"#
            )
        };
        assert!(decode_command(post(r#""ok""#).as_bytes()).is_ok());
        assert!(decode_command(post(r#""  ""#).as_bytes()).is_err(), "a blank body");
        assert!(decode_command(br#"{"type":"edit","channel_id":"00000000-0000-0000-0000-000000000001"}"#).is_err());
        assert!(decode_command(b"not json").is_err());
    }
}
