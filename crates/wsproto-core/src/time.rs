//! Time as the engine sees it: an opaque monotonic [`Instant`] supplied by the caller.
//!
//! The core never reads a clock (it is `no_std` and must stay deterministic). Every input that
//! can depend on time takes a `now: Instant`, and every machine reports its next deadline with
//! `poll_timeout`. Adapters build an `Instant` from their runtime's monotonic clock, usually as
//! the time elapsed since the adapter started; tests simply count virtual milliseconds.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the caller's monotonic clock, measured from an arbitrary origin.
///
/// Only differences between instants of the same clock mean anything. Arithmetic saturates, so
/// a deadline far in the future never overflows and an instant "before" the origin is the origin.
///
/// ```
/// use core::time::Duration;
/// use wsproto_core::Instant;
///
/// let start = Instant::from_duration(Duration::from_secs(5));
/// let later = start + Duration::from_millis(250);
/// assert_eq!(later - start, Duration::from_millis(250));
/// assert_eq!(start - later, Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Self = Self(Duration::ZERO);

    /// The instant that lies `since_origin` after the clock's origin.
    #[must_use]
    pub const fn from_duration(since_origin: Duration) -> Self {
        Self(since_origin)
    }

    /// The instant `millis` milliseconds after the origin; convenient for tests.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// Time elapsed since the clock's origin.
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        Self(self.0.saturating_add(rhs))
    }
}

impl Sub for Instant {
    type Output = Duration;

    fn sub(self, rhs: Self) -> Duration {
        self.saturating_since(rhs)
    }
}

/// The earlier of two optional deadlines, `None` meaning "never".
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let max = Instant::from_duration(Duration::MAX);
        assert_eq!(max + Duration::from_secs(1), max);
        assert_eq!(Instant::ZERO - Instant::from_millis(5), Duration::ZERO);
    }

    #[test]
    fn earliest_picks_the_sooner_deadline() {
        let a = Some(Instant::from_millis(1));
        let b = Some(Instant::from_millis(2));
        assert_eq!(earliest(a, b), a);
        assert_eq!(earliest(None, b), b);
        assert_eq!(earliest(a, None), a);
        assert_eq!(earliest(None, None), None);
    }
}
