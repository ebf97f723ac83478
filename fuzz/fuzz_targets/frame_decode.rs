#![no_main]
//! Fuzz target: see `wsproto_testkit::targets::frame_decode`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_testkit::targets::frame_decode(data));
