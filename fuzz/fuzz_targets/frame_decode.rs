#![no_main]
//! Fuzz target: see `wsproto_fuzz::frame_decode`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::frame_decode(data));
