#![no_main]
//! Fuzz target: see `wsproto_testkit::targets::socks5_tunnel`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_testkit::targets::socks5_tunnel(data));
