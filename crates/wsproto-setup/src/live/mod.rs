//! A connection that lives on its own (a background-driven handle, a reconnecting client),
//! written once for every adapter: its states, the events it reports, how it ended, how an
//! [`Error`] counts for the reconnect schedule ([`RetrySchedule`] over
//! [`wsproto_core::reconnect`]), and the [`Handle`] and [`Events`] the application holds
//! with the [`Shared`] state its background task works on ([`shared`](self)).

use std::fmt;
use std::time::Duration;

use wsproto_core::handshake::HandshakeError;
use wsproto_core::reconnect::{
    Backoff, Decision, Ending, ReconnectPolicy, StopReason, parse_retry_after,
};
use wsproto_core::{Bytes, CloseCode, Message, MessageKind};

use crate::Error;

mod shared;
mod task;

pub use shared::{Command, Events, Handle, Shared, SharedState};
pub use task::{End, Tracker};

/// How a live connection queues: messages sent ahead of the connection (64 by default),
/// events the application has not taken yet (64 by default), and for clients, whether and
/// how to reconnect (not by default).
#[derive(Clone, Debug)]
pub struct LiveConfig {
    queue: usize,
    events: usize,
    reconnect: Option<ReconnectPolicy>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            queue: 64,
            events: 64,
            reconnect: None,
        }
    }
}

impl LiveConfig {
    /// The defaults (see the type's documentation).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages may wait for the connection (while its write buffer is above the
    /// high-water mark, or while a reconnecting client is down); a send waits while the
    /// queue is full. At least 1.
    #[must_use]
    pub fn queue(mut self, messages: usize) -> Self {
        self.queue = messages.max(1);
        self
    }

    /// How many events may wait for the application; while the receiver is full, the
    /// connection stops reading (pings and pongs are dropped instead). At least 1.
    #[must_use]
    pub fn events(mut self, events: usize) -> Self {
        self.events = events.max(1);
        self
    }

    /// Reconnect after failures under `policy` (reconnecting clients only: a server-side
    /// connection cannot be dialled again).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }
}

impl LiveConfig {
    /// The reconnect policy, if reconnecting is on.
    #[must_use]
    pub fn reconnect_policy(&self) -> Option<&ReconnectPolicy> {
        self.reconnect.as_ref()
    }
}

/// Where a live connection is in its life (Qt's `stateChanged`, QML's `status`), reported in
/// order by [`LiveEvent::State`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveState {
    /// Dialling: TCP, proxy, TLS and the opening handshake. `attempt` is 0 for the first
    /// connection and counts retries after that.
    Connecting {
        /// 0 for the first connection, then the retry number.
        attempt: u32,
    },
    /// Messages flow both ways.
    Open,
    /// A Close was sent or received; the closing handshake is under way.
    Closing,
    /// Waiting `delay` before retry number `attempt` (reconnecting clients only).
    Reconnecting {
        /// Retries since the last open connection, this one included.
        attempt: u32,
        /// How long until the next dial.
        delay: Duration,
    },
    /// Over for good (a reconnecting client reports this only when it stops retrying).
    Closed(Closed),
}

/// How a connection ended: the close code and reason that ended it and who started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The code of the Close that ended it ([`CloseCode::ABNORMAL`] (1006) when the
    /// connection was lost without one; `None` for a Close that carried no code).
    pub code: Option<CloseCode>,
    /// The reason sent with that Close (empty if none).
    pub reason: String,
    /// Who ended it.
    pub by: ClosedBy,
}

impl Closed {
    /// An ending without a closing handshake (1006).
    #[must_use]
    pub fn abnormal(reason: impl Into<String>) -> Self {
        Self {
            code: Some(CloseCode::ABNORMAL),
            reason: reason.into(),
            by: ClosedBy::Failure,
        }
    }
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.by {
            ClosedBy::Local => "by us",
            ClosedBy::Peer => "by the peer",
            ClosedBy::Failure => "by a failure",
        };
        match self.code {
            Some(code) => write!(f, "closed {by} with {}", code.as_u16())?,
            None => write!(f, "closed {by} without a code")?,
        }
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        Ok(())
    }
}

/// Who ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedBy {
    /// We sent the first Close: the application asked, every handle was dropped, or the
    /// server is shutting down.
    Local,
    /// The peer sent the first Close.
    Peer,
    /// No clean closing handshake: an I/O error, the peer vanished or fell silent, it broke
    /// the protocol, or the connection could not be opened.
    Failure,
}

/// What a live connection reports, in order, through its event receiver.
#[derive(Debug)]
pub enum LiveEvent {
    /// The state changed.
    State(LiveState),
    /// A whole data message arrived.
    Message(Message),
    /// A piece of a data message arrived (with streaming delivery).
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The piece's bytes.
        data: Bytes,
        /// Whether it ends the message.
        fin: bool,
    },
    /// The peer sent a ping (already answered unless auto-pong is off). Dropped rather than
    /// queued when the receiver is full.
    Ping(Bytes),
    /// The peer sent a pong. Dropped rather than queued when the receiver is full (the latest
    /// round-trip time stays available on the handle).
    Pong {
        /// The pong's payload.
        payload: Bytes,
        /// Time since our latest ping, if this pong answers it.
        rtt: Option<Duration>,
    },
    /// Why a connection failed or could not be opened (before the state that follows it).
    Error(Error),
}

impl Error {
    /// How this error counts for a reconnecting client's schedule: opening failures
    /// (resolution, TCP, proxy, TLS, handshake timeouts and malformed answers) and lost
    /// connections are worth another try, refusals carry their status and `Retry-After`, and
    /// protocol violations or local misuse are final.
    #[must_use]
    pub fn ending(&self) -> Ending {
        match self {
            Self::Connect(_) | Self::Proxy(_) => Ending::ConnectFailed,
            #[cfg(feature = "tls")]
            Self::Tls(_) => Ending::ConnectFailed,
            Self::Handshake(HandshakeError::Rejected(rejection)) => Ending::Refused {
                status: rejection.status(),
                retry_after: rejection.header("retry-after").and_then(parse_retry_after),
            },
            Self::Handshake(_) => Ending::ConnectFailed,
            Self::Refused(status) => Ending::Refused {
                status: *status,
                retry_after: None,
            },
            Self::Io(_) | Self::Lost(_) => Ending::ConnectionLost,
            Self::Protocol(_) | Self::Send(_) | Self::TlsUnsupported | Self::StreamingDelivery => {
                Ending::Violation
            }
            #[cfg(feature = "deflate")]
            Self::Deflate(_) => Ending::Violation,
        }
    }
}

/// A reconnecting client's schedule with the operating system's generator for its jitter:
/// what the adapters' reconnect loops ask after every ending. Without a policy every ending
/// is final.
#[derive(Debug)]
pub struct RetrySchedule {
    backoff: Option<Backoff>,
}

impl RetrySchedule {
    /// A schedule under `policy` (`None`: never reconnect).
    #[must_use]
    pub fn new(policy: Option<ReconnectPolicy>) -> Self {
        Self {
            backoff: policy.map(Backoff::new),
        }
    }

    /// A connection opened: the next ending starts from the first delay again.
    fn reset(&mut self) {
        if let Some(backoff) = &mut self.backoff {
            backoff.opened();
        }
    }

    /// Retries since the last open connection (0 before the first retry): what
    /// [`LiveState::Connecting`] reports.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.backoff.as_ref().map_or(0, Backoff::attempts)
    }

    /// What to do after `ending`.
    fn after(&mut self, ending: &Ending) -> Decision {
        match &mut self.backoff {
            Some(backoff) => backoff.after(ending, &mut crate::rng::os_rng()),
            None => Decision::Stop(StopReason::Final),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn opening_failures_and_losses_are_retried_violations_are_not() {
        let policy = wsproto_core::reconnect::ReconnectPolicy::new();
        let retried = |e: Error| e.ending().is_retryable(&policy);
        assert!(retried(Error::Connect(
            io::ErrorKind::ConnectionRefused.into()
        )));
        assert!(retried(Error::Io(io::ErrorKind::ConnectionReset.into())));
        assert!(retried(Error::Lost(
            crate::ConnectionLost::KeepaliveTimeout
        )));
        assert!(retried(Error::Handshake(HandshakeError::Timeout)));
        assert!(retried(Error::Refused(503)));
        assert!(!retried(Error::Refused(404)));
        assert!(!retried(Error::Protocol(
            wsproto_core::ProtocolError::InvalidUtf8
        )));
        assert!(!retried(Error::TlsUnsupported));
    }

    #[test]
    fn closed_reads_as_a_sentence() {
        let closed = Closed {
            code: Some(CloseCode::GOING_AWAY),
            reason: "server shutting down".into(),
            by: ClosedBy::Peer,
        };
        assert_eq!(
            closed.to_string(),
            "closed by the peer with 1001 (server shutting down)"
        );
        assert_eq!(
            Closed::abnormal("").to_string(),
            "closed by a failure with 1006"
        );
    }
}
