//! Every code a session closes with: docs/protocol.md's table ("Limits and
//! close codes"), exactly — a test below reads it.

/// Why the server ends a session, as the WebSocket close code it sends (an
/// SSE stream simply ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// The server is stopping, or the client went silent: resume.
    GoingAway = 1001,
    /// The client broke RFC 6455.
    ProtocolError = 1002,
    /// A text frame that is not UTF-8 (RFC 6455 asks for 1007).
    BadData = 1007,
    /// The session fell too far behind (its queue filled), or the node lost
    /// its feed: resume from the store.
    Overflow = 1008,
    /// A frame over the size limit.
    TooLarge = 1009,
    /// The store failed: resume.
    ServerError = 1011,
    /// No `hello` first, or no valid session.
    Unauthenticated = 4001,
    /// The session's token was revoked (logout).
    Revoked = 4003,
    /// The user already has as many live sessions as `--max-sessions-per-user`.
    TooManySessions = 4029,
    /// A malformed `hello` (a field of the wrong type, a `resume` entry whose
    /// key is not a channel id or whose seq is negative): the same one would
    /// be refused again, so it is neither 4001 (sign in) nor a code a client
    /// resumes after.
    BadHello = 4400,
}

impl CloseCode {
    pub const ALL: [CloseCode; 10] = [
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::BadData,
        CloseCode::Overflow,
        CloseCode::TooLarge,
        CloseCode::ServerError,
        CloseCode::Unauthenticated,
        CloseCode::Revoked,
        CloseCode::TooManySessions,
        CloseCode::BadHello,
    ];

    /// The number on the wire.
    pub const fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<CloseCode> {
        CloseCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::CloseCode;

    /// The close codes docs/protocol.md's table lists are those the server sends.
    #[test]
    fn close_codes_are_documented() {
        let protocol = include_str!("../../../../docs/protocol.md");
        let table = protocol.split("### Limits and close codes").nth(1).expect("the close code section");
        let mut documented: Vec<u16> = table
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.trim_matches('|').split('|').next()?.trim().parse().ok())
            .collect();
        let mut sent: Vec<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        documented.sort_unstable();
        sent.sort_unstable();
        assert_eq!(documented, sent);
        for code in CloseCode::ALL {
            assert_eq!(CloseCode::from_code(code.code()), Some(code));
        }
        assert_eq!(CloseCode::from_code(1000), None);
    }
}
