//! The connection's lifecycle rules that every adapter used to decide for itself: the close a
//! shutting-down server sends, how long to linger after our sending side is shut down, and
//! the latest ping round-trip time. Adapters ask; they no longer decide.

use core::time::Duration;

use super::Connection;
use crate::close::CloseCode;
use crate::time::Instant;

/// The reason of the Close (1001, going away) a server sends when it shuts down
/// ([`Connection::begin_shutdown`]).
pub const SHUTDOWN_REASON: &str = "server shutting down";

/// How long an adapter keeps reading, and discarding, after it shut its sending side down
/// ([`Connection::linger`]). Closing a socket with unread input makes the kernel send a reset,
/// which can destroy our Close frame before the peer reads it; a peer that was still sending
/// (say, the rest of an oversized message) learns the code this way.
pub const LINGER: Duration = Duration::from_secs(2);

impl Connection {
    /// Starts the close a server sends to its connections when it shuts down: 1001 (going
    /// away) with [`SHUTDOWN_REASON`]. Returns whether it started one; `false` when the
    /// connection is already closing or closed, which is fine: it is on its way out anyway.
    pub fn begin_shutdown(&mut self, now: Instant) -> bool {
        self.close(CloseCode::GOING_AWAY, SHUTDOWN_REASON, now)
            .is_ok()
    }

    /// How long to linger once the connection is over and our sending side is shut down:
    /// [`LINGER`], or `None` when it failed without sending a Close (the peer is gone or
    /// silent: there is nothing to protect and no one to wait for).
    #[must_use]
    pub fn linger(&self) -> Option<Duration> {
        match &self.error {
            Some(crate::ConnectionError::Lost(_)) => None,
            _ => Some(LINGER),
        }
    }

    /// The round-trip time of the latest ping the peer answered (Qt's pong `elapsedTime`),
    /// measured from sending the ping to receiving the input that held its pong.
    #[must_use]
    pub fn last_rtt(&self) -> Option<Duration> {
        self.last_rtt
    }
}
