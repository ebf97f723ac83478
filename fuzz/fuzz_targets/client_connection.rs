#![no_main]
//! Fuzz target: see `wsproto_fuzz::client_connection`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::client_connection(data));
