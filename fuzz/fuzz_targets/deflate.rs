#![no_main]
//! Fuzz target: see `wsproto_fuzz::deflate`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::deflate(data));
