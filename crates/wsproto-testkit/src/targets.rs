//! The nine fuzz targets, one `pub fn <target>(data: &[u8])` each: the cargo-fuzz binaries in
//! `fuzz/fuzz_targets/` and the stable replay in `tests/tests/fuzz_corpus.rs` call the same
//! functions, so a stored input means the same thing in both. A target returns normally or
//! panics; a panic is a finding.

mod connection;
mod handshake;
mod proxy;

pub use connection::{client_connection, deflate, frame_decode, round_trip, server_connection};
pub use handshake::{client_handshake, server_handshake};
pub use proxy::{http_tunnel, socks5_tunnel};

/// A fuzz target: takes any bytes, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target with its name (the name of its cargo-fuzz binary and of its corpus folders
/// `fuzz/corpus/<name>` and `fuzz/regressions/<name>`), in a fixed order.
pub const ALL: [(&str, Target); 9] = [
    ("frame_decode", frame_decode),
    ("server_handshake", server_handshake),
    ("client_handshake", client_handshake),
    ("server_connection", server_connection),
    ("client_connection", client_connection),
    ("round_trip", round_trip),
    ("deflate", deflate),
    ("http_tunnel", http_tunnel),
    ("socks5_tunnel", socks5_tunnel),
];
