//! Client frames (`hello` and the rest) and `hello`'s resume map: every
//! frame is read or refused with an error in the protocol's terms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_protocol::ClientFrame;
use parley_server::gateway::session::parse_resume;
use serde_json::Value;

/// The frame types docs/protocol.md lists for clients.
const TYPES: [&str; 5] = ["hello", "send", "typing", "read", "ping"];

fuzz_target!(|data: &[u8]| {
    let Some(text) = parley_fuzz::text(data) else { return };
    match ClientFrame::parse(text) {
        Ok(ClientFrame::Hello { resume: Some(resume), .. }) => match parse_resume(&resume) {
            Ok(parsed) => {
                assert_eq!(parsed.len(), resume.len());
                assert!(parsed.values().all(|seq| *seq >= 0));
            }
            Err(error) => {
                parley_fuzz::assert_in_callers_terms(&error.message);
                assert!(error.message.contains("\"resume\""), "{}", error.message);
            }
        },
        Ok(_) => {}
        Err(error) => {
            parley_fuzz::assert_in_callers_terms(&error.message);
            assert!(!error.message.starts_with("malformed \""), "no reason found for {text:?}: {}", error.message);
            let json = serde_json::from_str::<Value>(text).ok();
            let known = json.as_ref().and_then(|v| v.get("type")?.as_str()).filter(|t| TYPES.contains(t));
            assert_eq!(error.frame_type, known, "{text:?}");
        }
    }
});
