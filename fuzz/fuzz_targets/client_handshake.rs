#![no_main]
//! Fuzz target: see `wsproto_testkit::targets::client_handshake`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_testkit::targets::client_handshake(data));
