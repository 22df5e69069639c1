//! Reading a client frame, with errors in the protocol's terms
//! (`unknown frame type "nope"`, `"send" needs "channel_id"`), never serde's.
//!
//! A frame is read by serde at once; only one it refuses is read again, as
//! plain JSON, to say what is wrong with it. So a well-formed frame costs no
//! more than before, and the explanation follows the table below, which is
//! docs/protocol.md's list of client frames.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::frames::ClientFrame;

/// Why a client frame was refused, in words for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The frame's `type` when it is one the server knows: a malformed
    /// `hello` ends the handshake differently from a frame that is not one.
    pub frame_type: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for parley_core::Error {
    fn from(error: FrameError) -> Self {
        parley_core::Error::bad_request(error.message)
    }
}

impl ClientFrame {
    /// Reads one client frame (a WebSocket text frame).
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        serde_json::from_str(text).map_err(|error| explain(text, &error))
    }
}

/// What a field of a frame holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    /// Any JSON value (`ref`).
    Any,
    /// `resume`: channel id → the last `seq` the client has.
    Resume,
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn needs(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, required: true }
}

const fn may(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, required: false }
}

/// Every client frame and its fields, as [`ClientFrame`] reads them.
const FRAMES: &[(&str, &[Field])] = &[
    ("hello", &[may("token", Kind::Text), may("resume", Kind::Resume)]),
    (
        "send",
        &[
            needs("ref", Kind::Any),
            needs("channel_id", Kind::Text),
            needs("client_msg_id", Kind::Text),
            needs("body", Kind::Text),
            may("reply_to_seq", Kind::Integer),
        ],
    ),
    (
        "change",
        &[
            needs("ref", Kind::Any),
            needs("channel_id", Kind::Text),
            needs("client_msg_id", Kind::Text),
            needs("seq", Kind::Integer),
            needs("action", Kind::Text),
            may("body", Kind::Text),
            may("emoji", Kind::Text),
        ],
    ),
    ("typing", &[needs("channel_id", Kind::Text)]),
    ("read", &[needs("channel_id", Kind::Text), needs("seq", Kind::Integer)]),
    ("ping", &[may("ref", Kind::Any)]),
];

/// A frame type echoed back is cut to this many characters.
const ECHO_MAX: usize = 40;

/// Says what is wrong with a frame serde refused.
fn explain(text: &str, error: &serde_json::Error) -> FrameError {
    let unknown = |message: String| FrameError { frame_type: None, message };
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return unknown("a frame must be a JSON object with a \"type\"".into()),
        Err(_) => return unknown(not_json(error)),
    };
    let name = match object.get("type") {
        Some(Value::String(name)) => name,
        Some(_) => return unknown("\"type\" must be a string".into()),
        None => return unknown("the frame has no \"type\"".into()),
    };
    let Some((frame_type, fields)) = FRAMES.iter().find(|(known, _)| known == name) else {
        return unknown(format!("unknown frame type {}", quoted(name)));
    };
    let message = fields
        .iter()
        .find_map(|field| wrong_field(frame_type, field, &object))
        .or_else(|| repeated_key(text).map(|key| format!("\"{frame_type}\" gives {} twice", quoted(&key))))
        // Not reached by any frame the fuzzer has made: the table agrees with serde.
        .unwrap_or_else(|| format!("malformed \"{frame_type}\" frame"));
    FrameError { frame_type: Some(frame_type), message }
}

fn not_json(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Eof => "the frame is not valid JSON: it ends too early".into(),
        _ => format!("the frame is not valid JSON (at column {})", error.column()),
    }
}

/// What is wrong with one field of a known frame, if anything.
fn wrong_field(frame_type: &str, field: &Field, object: &Map<String, Value>) -> Option<String> {
    let name = field.name;
    let value = match object.get(name) {
        None if field.required => return Some(format!("\"{frame_type}\" needs \"{name}\"")),
        None => return None,
        // An optional field may be null, as if left out.
        Some(Value::Null) if !field.required => return None,
        Some(value) => value,
    };
    let (fits, what) = match field.kind {
        Kind::Any => (true, ""),
        Kind::Text => (value.is_string(), "a string"),
        Kind::Integer => (value.as_i64().is_some(), "a whole number"),
        Kind::Resume => (
            value.as_object().is_some_and(|map| map.values().all(|seq| seq.as_i64().is_some())),
            "an object of channel id to seq (a whole number)",
        ),
    };
    (!fits).then(|| format!("\"{frame_type}\": \"{name}\" must be {what}"))
}

/// A string as JSON shows it, cut short if long.
fn quoted(text: &str) -> String {
    let cut: String = text.chars().take(ECHO_MAX).collect();
    let json = serde_json::to_string(&cut).unwrap_or_default();
    if cut.len() < text.len() {
        format!("{}…\"", &json[..json.len() - 1])
    } else {
        json
    }
}

/// The first key the frame's object gives twice, if any.
fn repeated_key(text: &str) -> Option<String> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Read to the end even past the first repeat: serde_json refuses
            // a map its visitor left unfinished.
            let (mut seen, mut repeated) = (std::collections::HashSet::new(), None);
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if !seen.insert(key.clone()) {
                    repeated.get_or_insert(key);
                }
            }
            Ok(repeated)
        }
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.deserialize_map(Keys).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> FrameError {
        ClientFrame::parse(text).expect_err(text)
    }

    #[test]
    fn well_formed_frames_read_as_before() {
        let text = r#"{"type":"send","ref":7,"channel_id":"c","client_msg_id":"m","body":"hi"}"#;
        assert_eq!(ClientFrame::parse(text).unwrap(), serde_json::from_str::<ClientFrame>(text).unwrap());
        assert!(ClientFrame::parse(r#"{"type":"hello","token":null,"resume":{"c":3}}"#).is_ok());
    }

    #[test]
    fn errors_name_the_frame_and_field() {
        let cases = [
            (r#"{"type":"nope"}"#, None, r#"unknown frame type "nope""#),
            (r#"{"type":"send","ref":1,"client_msg_id":"m","body":"b"}"#, Some("send"), r#""send" needs "channel_id""#),
            (
                r#"{"type":"send","channel_id":"c","client_msg_id":"m","body":"b"}"#,
                Some("send"),
                r#""send" needs "ref""#,
            ),
            (r#"{"type":"read","channel_id":"c","seq":1.5}"#, Some("read"), r#""read": "seq" must be a whole number"#),
            (r#"{"type":"typing","channel_id":5}"#, Some("typing"), r#""typing": "channel_id" must be a string"#),
            (
                r#"{"type":"change","ref":1,"channel_id":"c","client_msg_id":"m","action":"pin"}"#,
                Some("change"),
                r#""change" needs "seq""#,
            ),
            (
                r#"{"type":"change","ref":1,"channel_id":"c","client_msg_id":"m","seq":3,"action":"edit","body":7}"#,
                Some("change"),
                r#""change": "body" must be a string"#,
            ),
            (
                r#"{"type":"hello","resume":{"c":"x"}}"#,
                Some("hello"),
                r#""hello": "resume" must be an object of channel id to seq (a whole number)"#,
            ),
            (r#"{"type":"ping","type":"ping"}"#, Some("ping"), r#""ping" gives "type" twice"#),
            // Found by the fuzzer: a repeat before the last key.
            (r#"{"type":"ping","ref":1,"ref":1,"f":2}"#, Some("ping"), r#""ping" gives "ref" twice"#),
            (r#"{"type":7}"#, None, r#""type" must be a string"#),
            (r#"{"ref":1}"#, None, r#"the frame has no "type""#),
            ("[1]", None, r#"a frame must be a JSON object with a "type""#),
            ("nonsense", None, "the frame is not valid JSON (at column 2)"),
            (r#"{"type":"#, None, "the frame is not valid JSON: it ends too early"),
        ];
        for (text, frame_type, message) in cases {
            let error = refused(text);
            assert_eq!((error.frame_type, error.message.as_str()), (frame_type, message), "{text}");
        }
    }

    #[test]
    fn a_long_type_is_cut_short() {
        let error = refused(&format!(r#"{{"type":"{}"}}"#, "é".repeat(100)));
        assert_eq!(error.message, format!("unknown frame type \"{}…\"", "é".repeat(ECHO_MAX)));
    }
}
