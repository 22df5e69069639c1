//! Message bodies and client message ids: any text is refused or parsed into a value that keeps the rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_core::parse::{Body, ClientMsgId};
use parley_core::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = parley_fuzz::text(data) else { return };
    let trimmed = raw.trim();
    let length = trimmed.chars().count();
    match Body::parse(raw) {
        Ok(body) => {
            assert_eq!(body.as_str(), trimmed);
            assert!((1..=Body::MAX).contains(&length));
            assert!(!body.as_str().chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')));
            assert_eq!(Body::parse(body.as_str()).expect("a body parses again"), body);
        }
        Err(error) if length > Body::MAX => assert_eq!(error.code, ErrorCode::PayloadTooLarge),
        Err(error) => assert_eq!(error.code, ErrorCode::BadRequest),
    }
    match ClientMsgId::parse(raw) {
        Ok(id) => {
            assert_eq!(id.as_str(), raw);
            assert!((1..=ClientMsgId::MAX).contains(&raw.chars().count()));
            assert!(!raw.chars().any(char::is_control));
        }
        Err(error) => assert_eq!(error.code, ErrorCode::BadRequest),
    }
});
