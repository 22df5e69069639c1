//! The WebSocket session loop fed arbitrary frames (see `parley_fuzz::session`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_fuzz::session::run(data));
