//! Fuzzing on stable: replays the fuzz corpora (every file in `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/`, and the named seeds built in code) through the same target
//! function the cargo-fuzz binary calls, so CI covers what fuzzing found; then runs each target
//! for a few seconds over seeded mutations of those inputs ([`smoke`]), so a checker that falls
//! out of step with the engine fails CI instead of leaving nightly fuzzing silently dead.
//!
//! The targets, their seeds and the smoke driver live in the test kit (`wsproto-testkit`),
//! which the cargo-fuzz binaries in `fuzz/` call too. A regression file is named after what it
//! guards and also gets a named test below. An input that panics or runs longer than [`HANG`]
//! fails its test with the file's name, so a hang found by fuzzing fails CI instead of
//! stalling it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use wsproto_testkit::smoke::{HANG, smoke};
use wsproto_testkit::targets::{self, Target};

/// The built-in seeds and every stored input of `target`, each with a label.
fn inputs(name: &str) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = wsproto_testkit::seeds(name)
        .into_iter()
        .map(|(seed, bytes)| (format!("seed {name}/{seed}"), bytes))
        .collect();
    for dir in ["corpus", "regressions"] {
        for path in files(&fuzz_dir().join(dir).join(name)) {
            let bytes = std::fs::read(&path).expect("readable corpus file");
            all.push((path.display().to_string(), bytes));
        }
    }
    all
}

/// Runs `target` on its built-in seeds and on every stored input for it; returns how many ran.
fn replay(name: &str, target: Target) -> usize {
    let all = inputs(name);
    for (label, bytes) in &all {
        run_one(label, bytes.clone(), target);
    }
    all.len()
}

/// Runs `target` over seeded mutations of its seeds and stored inputs; returns how many ran.
fn fuzz_smoke(name: &'static str, target: Target) -> usize {
    let pool = inputs(name).into_iter().map(|(_, bytes)| bytes).collect();
    smoke(name, pool, target)
}

/// Runs the regression file `fuzz/regressions/<target>/<name>`.
fn regression(target_name: &str, name: &str, target: Target) {
    let path = fuzz_dir().join("regressions").join(target_name).join(name);
    let bytes = std::fs::read(&path).expect("regression file exists");
    run_one(&path.display().to_string(), bytes, target);
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
}

/// Runs one input on a thread of its own, so that a hang is reported (the thread is left
/// behind; the test process ends anyway).
fn run_one(label: &str, bytes: Vec<u8>, target: Target) {
    let (done, finished) = mpsc::channel();
    let len = bytes.len();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| target(&bytes));
        let _ = done.send(outcome.is_ok());
    });
    match finished.recv_timeout(HANG) {
        Ok(true) => {}
        Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("fuzz input {label} fails ({len} bytes)")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("fuzz input {label} runs for more than {HANG:?} ({len} bytes)")
        }
    }
}

#[test]
fn frame_decode_corpus() {
    assert!(replay("frame_decode", targets::frame_decode) > 0);
}

#[test]
fn frame_decode_smoke() {
    assert!(fuzz_smoke("frame_decode", targets::frame_decode) > 0);
}

#[test]
fn server_handshake_corpus() {
    assert!(replay("server_handshake", targets::server_handshake) > 0);
}

#[test]
fn server_handshake_smoke() {
    assert!(fuzz_smoke("server_handshake", targets::server_handshake) > 0);
}

#[test]
fn client_handshake_corpus() {
    assert!(replay("client_handshake", targets::client_handshake) > 0);
}

#[test]
fn client_handshake_smoke() {
    assert!(fuzz_smoke("client_handshake", targets::client_handshake) > 0);
}

#[test]
fn server_connection_corpus() {
    assert!(replay("server_connection", targets::server_connection) > 0);
}

#[test]
fn server_connection_smoke() {
    assert!(fuzz_smoke("server_connection", targets::server_connection) > 0);
}

#[test]
fn client_connection_corpus() {
    assert!(replay("client_connection", targets::client_connection) > 0);
}

#[test]
fn client_connection_smoke() {
    assert!(fuzz_smoke("client_connection", targets::client_connection) > 0);
}

#[test]
fn round_trip_corpus() {
    assert!(replay("round_trip", targets::round_trip) > 0);
}

#[test]
fn round_trip_smoke() {
    assert!(fuzz_smoke("round_trip", targets::round_trip) > 0);
}

#[test]
fn deflate_corpus() {
    assert!(replay("deflate", targets::deflate) > 0);
}

#[test]
fn deflate_smoke() {
    assert!(fuzz_smoke("deflate", targets::deflate) > 0);
}

/// permessage-deflate with `threshold(0)`: an empty message sent after a compressed one (with
/// context takeover) made `PerMessageDeflate::encode` loop forever, because a second sync
/// flush with no new input makes no progress and the output never ends with `00 00 ff ff`.
#[test]
fn deflate_empty_message_after_compressed_one_terminates() {
    regression(
        "deflate",
        "empty_message_after_compressed_one_hangs",
        targets::deflate,
    );
}

/// A write high-water mark of 0 with nothing queued: the engine says "not full" (an empty queue
/// is never full, so 0 lets one send in at a time) while the checker once asserted
/// `buffered >= high_water`. These four inputs are what the stable smoke found against that
/// stale checker, one per target that crashed on it.
#[test]
fn empty_queue_with_zero_high_water_is_not_full() {
    let name = "empty_queue_with_zero_high_water_is_not_full";
    regression("client_connection", name, targets::client_connection);
    regression("server_connection", name, targets::server_connection);
    regression("round_trip", name, targets::round_trip);
    regression("deflate", name, targets::deflate);
}

/// A half-closed connection (the peer's Close arrived, our answer waits for the application)
/// sends no pings, so it must not schedule the keepalive either: the engine once kept
/// offering a keepalive deadline in the past that `handle_timeout` could not act on (a busy
/// loop in any adapter). Found by the stable smoke when half-closing entered the fuzz setup.
#[test]
fn half_closed_connection_schedules_no_keepalive() {
    let name = "half_closed_connection_schedules_no_keepalive";
    regression("round_trip", name, targets::round_trip);
    regression("deflate", name, targets::deflate);
}

#[test]
fn http_tunnel_corpus() {
    assert!(replay("http_tunnel", targets::http_tunnel) > 0);
}

#[test]
fn http_tunnel_smoke() {
    assert!(fuzz_smoke("http_tunnel", targets::http_tunnel) > 0);
}

#[test]
fn socks5_tunnel_corpus() {
    assert!(replay("socks5_tunnel", targets::socks5_tunnel) > 0);
}

#[test]
fn socks5_tunnel_smoke() {
    assert!(fuzz_smoke("socks5_tunnel", targets::socks5_tunnel) > 0);
}

#[test]
fn http_tunnel_granted_before_the_request_was_written() {
    regression(
        "http_tunnel",
        "granted_before_the_request_was_written",
        targets::http_tunnel,
    );
}

#[test]
fn http_tunnel_empty_lines_before_the_status_line_are_not_held() {
    regression(
        "http_tunnel",
        "empty_lines_before_the_status_line_are_not_held",
        targets::http_tunnel,
    );
}
