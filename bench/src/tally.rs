//! What went wrong on our servers, counted by kind: failed handshakes (through
//! `ServerConfig::on_failed_handshake`) and connections that ended with an error. A thread
//! prints the tally to stderr every 10 seconds while it changes, so a soak or a load run that
//! sees client errors also shows the server's side of them.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Mutex, Once};
use std::time::Duration;

/// Distinct kinds kept (the rest fall under one "other" line).
const MAX_KINDS: usize = 32;

static TALLY: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
static REPORTER: Once = Once::new();

/// Counts one failure of kind `what: error`.
pub(crate) fn note(what: &str, error: &dyn Display) {
    REPORTER.call_once(|| {
        std::thread::spawn(report);
    });
    let Ok(mut tally) = TALLY.lock() else { return };
    let kind = format!("{what}: {error}");
    let key = if tally.len() < MAX_KINDS || tally.contains_key(&kind) {
        kind
    } else {
        format!("{what}: other")
    };
    *tally.entry(key).or_default() += 1;
}

/// The server config our servers use: the library's default plus the failed-handshake hook.
pub(crate) fn server_config() -> wsproto_tokio::ServerConfig {
    wsproto_tokio::ServerConfig::default()
        .on_failed_handshake(|_, error| note("server handshake", error))
}

fn report() {
    let mut last = BTreeMap::new();
    loop {
        std::thread::sleep(Duration::from_secs(10));
        let Ok(now) = TALLY.lock().map(|t| t.clone()) else {
            return;
        };
        if now != last {
            for (kind, count) in &now {
                eprintln!("server tally: {count:>8}  {kind}");
            }
            last = now;
        }
    }
}
