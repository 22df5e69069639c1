//! Usernames: any text is refused or parsed into 3–32 of `a-z 0-9 _ . -`, case folded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_core::parse::Username;
use parley_core::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = parley_fuzz::text(data) else { return };
    match Username::parse(raw) {
        Ok(name) => {
            let name = name.as_str();
            assert_eq!(name, raw.to_ascii_lowercase());
            assert!((Username::MIN..=Username::MAX).contains(&name.chars().count()));
            assert!(name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-')));
            assert_eq!(Username::parse(name).expect("a username parses again").as_str(), name);
        }
        Err(error) => assert_eq!(error.code, ErrorCode::BadRequest),
    }
});
