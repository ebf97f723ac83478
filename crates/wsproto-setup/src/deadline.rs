//! [`Deadline`]: the one opening-handshake deadline every adapter enforces, whatever its way
//! of waiting (an async timer, a socket read timeout), and the instant the new connection's
//! engine counts time from.

use std::time::{Duration, Instant};

use wsproto_core::handshake::HandshakeError;

use crate::error::{Error, Result};

/// When an opening handshake must be done, counted from when it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    origin: Instant,
    at: Instant,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub(crate) fn start(timeout: Duration) -> Self {
        let origin = Instant::now();
        Self {
            origin,
            at: origin + timeout,
        }
    }

    /// The instant the handshake must be done by.
    #[must_use]
    pub fn at(&self) -> Instant {
        self.at
    }

    /// The instant the handshake started: time zero of the engine it opens.
    #[must_use]
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// How long the adapter may still wait at `now`, or [`Deadline::error`] once it passed.
    pub fn time_left(&self, now: Instant) -> Result<Duration> {
        match self.at.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(Self::error()),
        }
    }

    /// The error for a deadline that passed: [`HandshakeError::Timeout`].
    #[must_use]
    pub fn error() -> Error {
        Error::Handshake(HandshakeError::Timeout)
    }

    /// The engine's view of now: time since [`origin`](Self::origin).
    pub(crate) fn engine_now(&self) -> wsproto_core::Instant {
        wsproto_core::Instant::from_duration(self.origin.elapsed())
    }
}
