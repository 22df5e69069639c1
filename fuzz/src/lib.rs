//! What the fuzz targets share: reading input as text, and the WebSocket
//! session run over in-memory channels against a real (SQLite) app.
//!
//! - [`session`]: a session fed the frames a fuzz input spells, and the
//!   checks on everything it writes back.

pub mod session;

/// The input as text, or nothing when it is not UTF-8 (a WebSocket text
/// frame that is not UTF-8 never reaches a parser: the transport closes it
/// with 1007).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Phrases of serde's own errors, which no message to a client may carry.
pub const PARSER_WORDS: &[&str] =
    &["unknown variant", "expected one of", "invalid type", "missing field", "invalid value", "at line"];

/// Panics if `message` speaks serde's language rather than the protocol's.
/// What it quotes (`"…"`, the client's own text echoed) does not count.
pub fn assert_in_callers_terms(message: &str) {
    let own = unquoted(message);
    for words in PARSER_WORDS {
        assert!(!own.contains(words), "an error in the parser's terms: {message}");
    }
}

/// `message` without its quoted parts (JSON strings, escapes and all).
fn unquoted(message: &str) -> String {
    let (mut own, mut quoted, mut escaped) = (String::new(), false, false);
    for c in message.chars() {
        match (quoted, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => quoted = !quoted,
            (false, _, c) => own.push(c),
            (true, false, _) => {}
        }
    }
    own
}
