#![no_main]
//! Fuzz target: see `wsproto_fuzz::round_trip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::round_trip(data));
