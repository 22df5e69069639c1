//! The frames of the hot path, written with `format!` and read into borrowed
//! structs instead of the full protocol types: the client shares the machine
//! with the server it measures, so each frame must cost it little.
//!
//! A benchmark message names itself in its `client_msg_id`, `<sender>.<n>`,
//! and carries its send time in its body, `t=<ns since the run's epoch>;`
//! and padding, so every receiver measures send→deliver on its own.

use std::borrow::Cow;

use serde::Deserialize;

/// The `send` frame of message `n` of `sender`; `channel_json` is the
/// channel id already JSON-quoted.
pub fn send_frame(channel_json: &str, sender: u32, n: u64, sent_ns: u64, body_size: usize) -> String {
    let body = body(sent_ns, body_size);
    format!(
        r#"{{"type":"send","ref":{n},"channel_id":{channel_json},"client_msg_id":"{}","body":"{body}"}}"#,
        msg_id(sender, n)
    )
}

/// What the bare baseline broadcasts: an `event` frame shaped like Parley's,
/// so both servers move the same bytes and receivers read both alike.
pub fn bare_event(sender: u32, n: u64, sent_ns: u64, body_size: usize) -> String {
    let body = body(sent_ns, body_size);
    format!(
        concat!(
            r#"{{"type":"event","event":{{"channel_id":"bare","seq":0,"id":"00000000-0000-7000-8000-000000000000","#,
            r#""type":"message","sender_id":"00000000-0000-7000-8000-000000000000","#,
            r#""created_at":"2026-01-01T00:00:00.000Z","body":"{body}","client_msg_id":"{id}"}}}}"#
        ),
        body = body,
        id = msg_id(sender, n)
    )
}

/// A `change` frame (docs/protocol.md, "Client → server"): `action` with
/// its `body` or `emoji`.
pub fn change_frame(
    channel_id: &str,
    reference: u64,
    client_msg_id: &str,
    seq: i64,
    action: &str,
    body: Option<&str>,
    emoji: Option<&str>,
) -> String {
    serde_json::json!({
        "type": "change", "ref": reference, "channel_id": channel_id, "client_msg_id": client_msg_id,
        "seq": seq, "action": action, "body": body, "emoji": emoji,
    })
    .to_string()
}

pub fn msg_id(sender: u32, n: u64) -> String {
    format!("{sender}.{n}")
}

/// `<sender>.<n>` → the pair; `None` for a message this run did not send.
pub fn parse_msg_id(id: &str) -> Option<(u32, u64)> {
    let (sender, n) = id.split_once('.')?;
    Some((sender.parse().ok()?, n.parse().ok()?))
}

/// `t=<ns>;` padded with `x` to `size` bytes (never shorter than the stamp).
fn body(sent_ns: u64, size: usize) -> String {
    let mut body = format!("t={sent_ns};");
    if body.len() < size {
        body.extend(std::iter::repeat_n('x', size - body.len()));
    }
    body
}

pub fn parse_body_ns(body: &str) -> Option<u64> {
    body.strip_prefix("t=")?.split(';').next()?.parse().ok()
}

/// Any server frame, with only the fields the load generator reads.
#[derive(Debug, Deserialize)]
pub struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub event: Option<IncomingEvent<'a>>,
    /// Our refs are numbers; any other echoes as `None`.
    #[serde(rename = "ref", default, deserialize_with = "number_or_none")]
    pub reference: Option<u64>,
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
    /// An ack's `stored`, `unchanged` or `accepted`.
    #[serde(default, borrow)]
    pub status: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct IncomingEvent<'a> {
    #[serde(borrow)]
    pub channel_id: Cow<'a, str>,
    pub seq: i64,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub client_msg_id: Option<Cow<'a, str>>,
}

/// A `ref` that is a whole number, else `None` (whatever else it was).
fn number_or_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct Number;
    impl<'de> serde::de::Visitor<'de> for Number {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(v).ok())
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    deserializer.deserialize_any(Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_frame_is_json_the_server_reads() {
        let frame = send_frame("\"c-1\"", 7, 42, 123_456, 40);
        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "send");
        assert_eq!(value["ref"], 42);
        assert_eq!(value["client_msg_id"], "7.42");
        let body = value["body"].as_str().unwrap();
        assert_eq!(body.len(), 40);
        assert_eq!(parse_body_ns(body), Some(123_456));
        assert_eq!(parse_msg_id("7.42"), Some((7, 42)));
        assert_eq!(parse_msg_id("hello"), None);
    }

    #[test]
    fn reads_an_event_and_an_ack() {
        let bare = bare_event(3, 9, 555, 10);
        let frame: Incoming = serde_json::from_str(&bare).unwrap();
        assert_eq!(frame.kind, "event");
        let event = frame.event.unwrap();
        assert_eq!(event.kind, "message");
        assert_eq!(event.client_msg_id.as_deref(), Some("3.9"));
        assert_eq!(parse_body_ns(event.body.as_deref().unwrap()), Some(555));

        let ack: Incoming =
            serde_json::from_str(r#"{"type":"ack","ref":17,"client_msg_id":"1.17","status":"stored","seq":3}"#)
                .unwrap();
        assert_eq!((ack.kind.as_ref(), ack.reference), ("ack", Some(17)));
        let error: Incoming =
            serde_json::from_str(r#"{"type":"error","ref":"x","code":"rate_limited","message":"slow"}"#).unwrap();
        assert_eq!((error.reference, error.code.as_deref()), (None, Some("rate_limited")));
        let presence: Incoming =
            serde_json::from_str(r#"{"type":"presence","user_id":"u","status":"online"}"#).unwrap();
        assert_eq!(presence.kind, "presence");
    }
}
