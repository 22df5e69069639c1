//! WebSocket and SSE frames, as in PROTOCOL.md: one JSON object each, `type` first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rest::{Channel, Event, User};

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Must be the first frame. `resume` maps channel ids to the last `seq` the client has.
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<BTreeMap<String, i64>>,
    },
    Send {
        /// Echoed in the `ack` or `error`: any JSON value the client likes.
        #[serde(rename = "ref")]
        reference: Value,
        channel_id: String,
        client_msg_id: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
    },
    /// A change to message `seq`: `action` is `edit` (with `body`),
    /// `delete`, `react` or `unreact` (with `emoji`), `pin` or `unpin`.
    Change {
        #[serde(rename = "ref")]
        reference: Value,
        channel_id: String,
        client_msg_id: String,
        seq: i64,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<String>,
    },
    Typing {
        channel_id: String,
    },
    Read {
        channel_id: String,
        seq: i64,
    },
    Ping {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Ready {
        user: User,
        channels: Vec<Channel>,
    },
    Event {
        event: Event,
    },
    /// Events `after_seq + 1 ..= through_seq` were not sent inline: page them through REST.
    Gap {
        channel_id: String,
        after_seq: i64,
        through_seq: i64,
    },
    Ack {
        #[serde(rename = "ref")]
        reference: Value,
        client_msg_id: String,
        /// `stored` (with `seq`) or `accepted` (cluster, not yet stored).
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
    },
    Error {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        code: String,
        message: String,
    },
    ChannelAdded {
        channel: Channel,
    },
    ChannelRemoved {
        channel_id: String,
    },
    Typing {
        channel_id: String,
        user_id: String,
    },
    Presence {
        user_id: String,
        /// `online` or `offline`.
        status: String,
    },
    /// My read marker moved (in this session or another of mine): not an
    /// event of the channel's log, and only ever sent to me.
    ReadMarker {
        channel_id: String,
        last_read_seq: i64,
        /// Messages by others after `last_read_seq`, as in my channel list.
        unread_count: i64,
        /// Of those, the ones that mention me, as in my channel list.
        mention_count: i64,
    },
    /// My preferences in a channel changed (from this session or another
    /// of mine): only ever sent to me.
    Preferences {
        channel_id: String,
        preferences: crate::rest::Preferences,
    },
    /// I blocked someone (`blocked`) or unblocked them, from this session or
    /// another of mine: only ever sent to me.
    Blocked {
        user_id: String,
        blocked: bool,
    },
    Pong {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
}

impl ServerFrame {
    /// The frame's `type`, which is also the SSE `event:` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerFrame::Ready { .. } => "ready",
            ServerFrame::Event { .. } => "event",
            ServerFrame::Gap { .. } => "gap",
            ServerFrame::Ack { .. } => "ack",
            ServerFrame::Error { .. } => "error",
            ServerFrame::ChannelAdded { .. } => "channel_added",
            ServerFrame::ChannelRemoved { .. } => "channel_removed",
            ServerFrame::Typing { .. } => "typing",
            ServerFrame::Presence { .. } => "presence",
            ServerFrame::ReadMarker { .. } => "read_marker",
            ServerFrame::Preferences { .. } => "preferences",
            ServerFrame::Blocked { .. } => "blocked",
            ServerFrame::Pong { .. } => "pong",
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_parse() {
        let hello: ClientFrame =
            serde_json::from_value(json!({"type": "hello", "token": "t", "resume": {"c1": 5}})).unwrap();
        assert_eq!(
            hello,
            ClientFrame::Hello { token: Some("t".into()), resume: Some(BTreeMap::from([("c1".into(), 5)])) }
        );
        let send: ClientFrame = serde_json::from_value(
            json!({"type": "send", "ref": 7, "channel_id": "c", "client_msg_id": "m", "body": "hi"}),
        )
        .unwrap();
        assert!(matches!(send, ClientFrame::Send { reference, .. } if reference == json!(7)));
        assert!(serde_json::from_value::<ClientFrame>(json!({"type": "dance"})).is_err());
    }

    #[test]
    fn server_frames_put_type_first() {
        let ack = ServerFrame::Ack {
            reference: json!("r1"),
            client_msg_id: "m".into(),
            status: "stored".into(),
            seq: Some(3),
        };
        assert_eq!(ack.to_json(), r#"{"type":"ack","ref":"r1","client_msg_id":"m","status":"stored","seq":3}"#);
        let gap = ServerFrame::Gap { channel_id: "c".into(), after_seq: 0, through_seq: 2000 };
        assert_eq!(gap.to_json(), r#"{"type":"gap","channel_id":"c","after_seq":0,"through_seq":2000}"#);
        let error = ServerFrame::Error { reference: None, code: "bad_request".into(), message: "m".into() };
        assert_eq!(error.to_json(), r#"{"type":"error","code":"bad_request","message":"m"}"#);
        assert_eq!(ServerFrame::Pong { reference: None }.to_json(), r#"{"type":"pong"}"#);
        let read =
            ServerFrame::ReadMarker { channel_id: "c".into(), last_read_seq: 57, unread_count: 0, mention_count: 0 };
        assert_eq!(
            read.to_json(),
            r#"{"type":"read_marker","channel_id":"c","last_read_seq":57,"unread_count":0,"mention_count":0}"#
        );
        assert_eq!(read.type_name(), "read_marker");
    }
}
