//! `serve -v`: one stderr line per connection, per close and per refused handshake, each
//! starting with the client's address so a busy log can be grepped by peer:
//!
//! ```text
//! 127.0.0.1:51234 connected (path /, subprotocol chat, extensions permessage-deflate)
//! 127.0.0.1:51234 closed by client: 1000 bye
//! 127.0.0.1:51240 handshake refused: websocket handshake failed: missing sec-websocket-key header (answered 400)
//! 127.0.0.1:51250 plain HTTP GET /: test page
//! ```
//!
//! Who closed is worked out from what the connection saw: an echo server only starts a
//! Close itself on a protocol error, when it shuts down (1001), or when a broadcast client
//! falls behind (1013); any other Close came from the client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wsproto_async::{Error, HandshakeInfo};
use wsproto_core::handshake::HandshakeError;
use wsproto_core::{CloseCode, CloseFrame};

use crate::console::frame_text;

/// The verbose log; clones share the "server is stopping" flag. Silent unless `-v`.
#[derive(Clone, Debug)]
pub(super) struct Log {
    verbose: bool,
    /// Set on Ctrl-C/SIGTERM: 1001 closes from now on are the server's.
    stopping: Arc<AtomicBool>,
}

/// What the connection loop saw of a connection's end that the connection does not keep.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// The first error (a protocol error means we closed).
    pub(super) error: Option<Error>,
    /// We dropped a broadcast client that fell behind.
    pub(super) too_slow: bool,
}

impl Log {
    pub(super) fn new(verbose: bool, stopping: Arc<AtomicBool>) -> Self {
        Self { verbose, stopping }
    }

    pub(super) fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// A connection opened with what its handshake settled (`deflate`: the extension is on).
    pub(super) fn connected(&self, peer: Option<SocketAddr>, info: &HandshakeInfo, deflate: bool) {
        if self.verbose {
            eprintln!(
                "{} connected (path {}, subprotocol {}, extensions {})",
                peer_text(peer),
                info.path().unwrap_or("/"),
                info.subprotocol().unwrap_or("none"),
                if deflate {
                    "permessage-deflate"
                } else {
                    "none"
                }
            );
        }
    }

    /// A connection ended: the Close frames it sent and received, and what the loop saw.
    pub(super) fn closed(
        &self,
        peer: Option<SocketAddr>,
        sent: Option<&CloseFrame>,
        received: Option<&CloseFrame>,
        outcome: &Outcome,
    ) {
        if self.verbose {
            let stopping = self.stopping.load(Ordering::SeqCst);
            let text = close_text(sent, received, outcome, stopping);
            eprintln!("{} {text}", peer_text(peer));
        }
    }

    /// A handshake failed or was refused (the hook of `ServerConfig::on_failed_handshake`);
    /// `is_page` says which plain HTTP paths get the test page.
    pub(super) fn refused(
        &self,
        peer: Option<SocketAddr>,
        error: &Error,
        is_page: fn(&str) -> bool,
    ) {
        if self.verbose {
            eprintln!("{} {}", peer_text(peer), refusal_text(error, is_page));
        }
    }
}

fn peer_text(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown peer".to_owned(), |p| p.to_string())
}

/// Who closed, with code and reason; or how the connection failed.
fn close_text(
    sent: Option<&CloseFrame>,
    received: Option<&CloseFrame>,
    outcome: &Outcome,
    stopping: bool,
) -> String {
    let ours = |frame: &CloseFrame| format!("closed by server: {}", frame_text(frame));
    match (&outcome.error, sent, received) {
        (Some(Error::Protocol(error)), Some(sent), _) => format!("{} ({error})", ours(sent)),
        (Some(error), _, _) => format!("connection failed: {error}"),
        (None, Some(sent), _) if outcome.too_slow => ours(sent),
        (None, Some(sent), _) if stopping && sent.code() == CloseCode::GOING_AWAY => ours(sent),
        (None, _, Some(received)) => format!("closed by client: {}", frame_text(received)),
        (None, Some(sent), None) => format!("{} (no answer from the client)", ours(sent)),
        (None, None, None) => "connection dropped without a close".to_owned(),
    }
}

/// Why a handshake produced no connection.
fn refusal_text(error: &Error, is_page: fn(&str) -> bool) -> String {
    match error {
        Error::Handshake(HandshakeError::NotWebSocket { path }) => {
            let answer = if is_page(path) {
                "test page"
            } else {
                "426 upgrade required"
            };
            format!("plain HTTP GET {path}: {answer}")
        }
        Error::Handshake(handshake) => match handshake.http_status() {
            Some(status) => format!("handshake refused: {error} (answered {status})"),
            None => format!("handshake refused: {error}"),
        },
        Error::Refused(_) => format!("handshake refused: {error}"),
        other => format!("handshake failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::received_close;

    fn frame(code: u16, reason: &str) -> CloseFrame {
        received_close(code, reason).expect("a close")
    }

    #[test]
    fn who_closed() {
        let bye = frame(1000, "bye");
        let echo = frame(1000, "");
        let away = frame(1001, "server shutting down");
        let big = frame(1009, "message too big");
        let slow = frame(1013, "too slow for broadcast");
        let clean = Outcome::default();
        let too_big = Outcome {
            error: Some(Error::Protocol(
                wsproto_core::ProtocolError::MessageTooLarge { limit: 10 },
            )),
            too_slow: false,
        };
        let dropped = Outcome {
            error: None,
            too_slow: true,
        };
        let cases = [
            (
                Some(&echo),
                Some(&bye),
                &clean,
                false,
                "closed by client: 1000 bye",
            ),
            (
                Some(&away),
                Some(&away),
                &clean,
                true,
                "closed by server: 1001 server shutting down",
            ),
            (
                Some(&away),
                Some(&away),
                &clean,
                false,
                "closed by client: 1001 server shutting down",
            ),
            (
                Some(&big),
                None,
                &too_big,
                false,
                "closed by server: 1009 message too big (",
            ),
            (
                Some(&slow),
                None,
                &dropped,
                false,
                "closed by server: 1013 too slow for broadcast",
            ),
            (
                None,
                None,
                &clean,
                false,
                "connection dropped without a close",
            ),
        ];
        for (sent, received, outcome, stopping, want) in cases {
            let got = close_text(sent, received, outcome, stopping);
            assert!(got.starts_with(want), "{outcome:?}: {got}");
        }
    }

    #[test]
    fn why_a_handshake_was_refused() {
        let page = |path: &str| path == "/";
        let plain = |path: &str| {
            Error::Handshake(HandshakeError::NotWebSocket {
                path: path.to_owned(),
            })
        };
        assert_eq!(
            refusal_text(&plain("/"), page),
            "plain HTTP GET /: test page"
        );
        assert_eq!(
            refusal_text(&plain("/x"), page),
            "plain HTTP GET /x: 426 upgrade required"
        );
        let missing = Error::Handshake(HandshakeError::MissingHeader("sec-websocket-key"));
        assert_eq!(
            refusal_text(&missing, page),
            "handshake refused: websocket handshake failed: missing sec-websocket-key header (answered 400)"
        );
        assert_eq!(
            refusal_text(&Error::Refused(403), page),
            "handshake refused: upgrade request refused with http status 403"
        );
    }
}
