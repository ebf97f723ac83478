#![no_main]
//! Fuzz target: see `wsproto_fuzz::server_handshake`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::server_handshake(data));
