//! When to connect again after a connection ended: the reconnect schedule, decided without a
//! clock or a socket.
//!
//! A reconnecting client asks [`Backoff::after`] what to do each time a connection attempt
//! fails or an open connection ends, and gets either [`Decision::Retry`] (which attempt, after
//! what delay) or [`Decision::Stop`] (and why). The adapters only sleep and dial; the rules —
//! exponential growth, the cap, full jitter, the attempt limit, which endings are worth
//! another try, a server's `Retry-After` — live here, tested with a fixed random source.
//!
//! ```
//! use core::time::Duration;
//! use wsproto_core::reconnect::{Backoff, Decision, Ending, ReconnectPolicy};
//!
//! let policy = ReconnectPolicy::new()
//!     .initial_delay(Duration::from_millis(100))
//!     .max_delay(Duration::from_secs(2))
//!     .full_jitter(false);
//! let mut backoff = Backoff::new(policy);
//! // Any `RngCore` (an adapter uses the operating system's); here one that jitters nothing.
//! let mut rng = Counter(0);
//! # struct Counter(u64);
//! # impl rand_core::RngCore for Counter {
//! #     fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }
//! #     fn next_u64(&mut self) -> u64 { self.0 += 1; self.0 }
//! #     fn fill_bytes(&mut self, d: &mut [u8]) { d.fill(1) }
//! # }
//! assert_eq!(
//!     backoff.after(&Ending::ConnectionLost, &mut rng),
//!     Decision::Retry { attempt: 1, delay: Duration::from_millis(100) },
//! );
//! assert_eq!(
//!     backoff.after(&Ending::ConnectFailed, &mut rng),
//!     Decision::Retry { attempt: 2, delay: Duration::from_millis(200) },
//! );
//! backoff.opened(); // a connection opened: the next failure starts from the beginning
//! assert!(matches!(backoff.after(&Ending::ClosedByUs, &mut rng), Decision::Stop(_)));
//! ```

use core::time::Duration;

use rand_core::RngCore;

use crate::CloseCode;

/// How a reconnecting client retries: exponential backoff with a cap, full jitter by default,
/// and which endings are final.
///
/// The defaults: first retry after 500 ms, doubling up to 30 s, full jitter, retrying
/// forever, no reconnect after the peer's normal close (1000).
#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectPolicy {
    initial_delay: Duration,
    multiplier: f64,
    max_delay: Duration,
    full_jitter: bool,
    max_attempts: Option<u32>,
    after_normal_close: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl ReconnectPolicy {
    /// The default policy (see the type's documentation).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            full_jitter: true,
            max_attempts: None,
            after_normal_close: false,
        }
    }

    /// The delay before the first retry (before jitter).
    #[must_use]
    pub const fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// How much each further retry's delay grows (at least 1; 2 doubles it).
    #[must_use]
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() && multiplier >= 1.0 {
            multiplier
        } else {
            1.0
        };
        self
    }

    /// The longest delay between two attempts (before jitter; a server's `Retry-After` may
    /// ask for longer and is honoured).
    #[must_use]
    pub const fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Full jitter (on by default): each delay is drawn uniformly from zero to the computed
    /// delay, so that many clients dropped at once do not come back at once.
    #[must_use]
    pub const fn full_jitter(mut self, on: bool) -> Self {
        self.full_jitter = on;
        self
    }

    /// Gives up after this many retries in a row without an open connection; `None` (the
    /// default) retries forever.
    #[must_use]
    pub const fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Whether the peer's normal close (1000, or a Close without a code) is followed by a
    /// reconnect too (off by default: the server meant it).
    #[must_use]
    pub const fn after_normal_close(mut self, on: bool) -> Self {
        self.after_normal_close = on;
        self
    }

    /// The delay before retry number `attempt` (1-based), before jitter: the initial delay
    /// grown `attempt - 1` times, capped at the maximum.
    #[must_use]
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let max = self.max_delay.as_secs_f64();
        let mut delay = self.initial_delay.as_secs_f64().min(max);
        for _ in 1..attempt {
            delay *= self.multiplier;
            if delay >= max {
                delay = max;
                break;
            }
        }
        Duration::from_secs_f64(delay)
    }
}

/// How a connection or a connection attempt ended, as far as reconnecting cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// We closed it (the application asked): never retried.
    ClosedByUs,
    /// The peer sent a Close with this code (`None`: a Close without a code).
    PeerClosed(Option<CloseCode>),
    /// The connection was lost without a closing handshake: an I/O error, the end of the
    /// stream, the dead-peer timeout (what a Close would call 1006).
    ConnectionLost,
    /// Opening failed before the server answered: name resolution, TCP, a proxy, TLS, or a
    /// handshake timeout.
    ConnectFailed,
    /// The server answered the upgrade with this HTTP status (and maybe a `Retry-After`).
    Refused {
        /// The HTTP status, for example 404 or 503.
        status: u16,
        /// The server's `Retry-After`, when it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// The peer broke the protocol (or sent what our limits refuse) and we failed the
    /// connection: the same would likely happen again.
    Violation,
}

impl Ending {
    /// Whether this ending is worth another try under `policy`: I/O failures, connection
    /// loss, 1001 and 1011–1014 (and 1006), refusals other than 4xx; not our own close, the
    /// peer's 1000 (unless the policy says so), 4xx refusals, other close codes, or protocol
    /// violations.
    #[must_use]
    pub fn is_retryable(&self, policy: &ReconnectPolicy) -> bool {
        match self {
            Self::ClosedByUs | Self::Violation => false,
            Self::ConnectionLost | Self::ConnectFailed => true,
            Self::PeerClosed(None) => policy.after_normal_close,
            Self::PeerClosed(Some(code)) => match code.as_u16() {
                1000 | 1005 => policy.after_normal_close,
                1001 | 1006 | 1011..=1014 => true,
                _ => false,
            },
            Self::Refused { status, .. } => !(400..500).contains(status),
        }
    }
}

/// Why a reconnecting client stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The ending is final under the policy (our own close, a normal close, a 4xx refusal,
    /// a protocol violation...).
    Final,
    /// The policy's attempt limit was reached.
    AttemptsExhausted,
}

/// What to do after an ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Connect again after `delay`; this is retry number `attempt` (1-based) since the last
    /// open connection.
    Retry {
        /// Retries since the last open connection, this one included.
        attempt: u32,
        /// How long to wait before dialling.
        delay: Duration,
    },
    /// Do not connect again.
    Stop(StopReason),
}

/// The state of one reconnecting client's schedule: how many retries in a row have failed.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    attempt: u32,
}

impl Backoff {
    /// A schedule that has not retried yet.
    #[must_use]
    pub const fn new(policy: ReconnectPolicy) -> Self {
        Self { policy, attempt: 0 }
    }

    /// The policy this schedule follows.
    #[must_use]
    pub const fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// Retries made since the last open connection.
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A connection opened: the next ending starts the schedule again from the first delay.
    pub fn opened(&mut self) {
        self.attempt = 0;
    }

    /// What to do after `ending`. A retry's delay is the policy's base delay for this attempt,
    /// drawn uniformly from `[0, base]` with full jitter, and never shorter than a refusing
    /// server's `Retry-After`.
    pub fn after(&mut self, ending: &Ending, rng: &mut impl RngCore) -> Decision {
        if !ending.is_retryable(&self.policy) {
            return Decision::Stop(StopReason::Final);
        }
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.attempt >= max)
        {
            return Decision::Stop(StopReason::AttemptsExhausted);
        }
        self.attempt += 1;
        let base = self.policy.base_delay(self.attempt);
        let mut delay = if self.policy.full_jitter {
            uniform_up_to(base, rng)
        } else {
            base
        };
        if let Ending::Refused {
            retry_after: Some(wait),
            ..
        } = ending
        {
            delay = delay.max(*wait);
        }
        Decision::Retry {
            attempt: self.attempt,
            delay,
        }
    }
}

/// A duration drawn uniformly from `[0, max]` at nanosecond resolution.
fn uniform_up_to(max: Duration, rng: &mut impl RngCore) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    // The modulo bias is below 2^-30 for any delay under ~17 minutes: irrelevant here.
    Duration::from_nanos(rng.next_u64() % (nanos + 1))
}

/// Reads an HTTP `Retry-After` value given in seconds (the HTTP-date form needs a wall
/// clock, which the core does not have: it yields `None`).
#[must_use]
pub fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    let text = core::str::from_utf8(value).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A random source that returns the given values in turn.
    struct Fixed(&'static [u64], usize);

    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            let value = self.0[self.1 % self.0.len()];
            self.1 += 1;
            value
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(0);
        }
    }

    fn no_jitter() -> ReconnectPolicy {
        ReconnectPolicy::new()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .full_jitter(false)
    }

    fn retry(attempt: u32, millis: u64) -> Decision {
        Decision::Retry {
            attempt,
            delay: Duration::from_millis(millis),
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new(no_jitter());
        let mut rng = Fixed(&[0], 0);
        let delays: Vec<Decision> = (0..6)
            .map(|_| backoff.after(&Ending::ConnectionLost, &mut rng))
            .collect();
        assert_eq!(
            delays,
            [
                retry(1, 100),
                retry(2, 200),
                retry(3, 400),
                retry(4, 800),
                retry(5, 1000),
                retry(6, 1000)
            ]
        );
    }

    #[test]
    fn an_open_connection_starts_the_schedule_again() {
        let mut backoff = Backoff::new(no_jitter());
        let mut rng = Fixed(&[0], 0);
        backoff.after(&Ending::ConnectFailed, &mut rng);
        backoff.after(&Ending::ConnectFailed, &mut rng);
        backoff.opened();
        assert_eq!(
            backoff.after(&Ending::ConnectionLost, &mut rng),
            retry(1, 100)
        );
    }

    #[test]
    fn full_jitter_draws_between_zero_and_the_base_delay() {
        let policy = no_jitter().full_jitter(true);
        const BASE: u64 = 100_000_000;
        // The draw is taken modulo base + 1: 0 gives 0, base gives base, base + 1 wraps to 0.
        let mut rng = Fixed(&[0, BASE, BASE / 2, BASE + 1], 0);
        let mut delays = Vec::new();
        for _ in 0..4 {
            let mut backoff = Backoff::new(policy.clone());
            let Decision::Retry { delay, .. } = backoff.after(&Ending::ConnectionLost, &mut rng)
            else {
                panic!("a lost connection is retried");
            };
            delays.push(delay.as_millis());
        }
        assert_eq!(delays, [0, 100, 50, 0]);
    }

    #[test]
    fn jittered_delays_stay_inside_the_policy() {
        let policy = ReconnectPolicy::new()
            .initial_delay(Duration::from_millis(50))
            .max_delay(Duration::from_millis(700));
        let mut backoff = Backoff::new(policy.clone());
        let mut rng = Fixed(&[u64::MAX, 12_345_678_901, 7, 999_999_937], 0);
        for attempt in 1..=40 {
            let Decision::Retry { delay, attempt: n } =
                backoff.after(&Ending::ConnectFailed, &mut rng)
            else {
                panic!("retries forever by default");
            };
            assert_eq!(n, attempt);
            assert!(delay <= policy.base_delay(attempt));
            assert!(delay <= Duration::from_millis(700));
        }
    }

    #[test]
    fn the_attempt_limit_stops_the_schedule() {
        let mut backoff = Backoff::new(no_jitter().max_attempts(Some(2)));
        let mut rng = Fixed(&[0], 0);
        assert_eq!(
            backoff.after(&Ending::ConnectFailed, &mut rng),
            retry(1, 100)
        );
        assert_eq!(
            backoff.after(&Ending::ConnectFailed, &mut rng),
            retry(2, 200)
        );
        assert_eq!(
            backoff.after(&Ending::ConnectFailed, &mut rng),
            Decision::Stop(StopReason::AttemptsExhausted)
        );
    }

    #[test]
    fn final_endings_are_not_retried() {
        let policy = no_jitter();
        let fin = |ending: Ending| {
            Backoff::new(policy.clone()).after(&ending, &mut Fixed(&[0], 0))
                == Decision::Stop(StopReason::Final)
        };
        assert!(fin(Ending::ClosedByUs));
        assert!(fin(Ending::Violation));
        assert!(fin(Ending::PeerClosed(Some(CloseCode::NORMAL))));
        assert!(fin(Ending::PeerClosed(None)));
        assert!(fin(Ending::PeerClosed(Some(CloseCode::POLICY_VIOLATION))));
        assert!(fin(Ending::PeerClosed(Some(CloseCode::PROTOCOL_ERROR))));
        for status in [400, 401, 403, 404, 426, 429] {
            assert!(fin(Ending::Refused {
                status,
                retry_after: None
            }));
        }
    }

    #[test]
    fn failures_and_going_away_are_retried() {
        let policy = no_jitter();
        let retried = |ending: Ending| ending.is_retryable(&policy);
        assert!(retried(Ending::ConnectionLost));
        assert!(retried(Ending::ConnectFailed));
        for code in [
            CloseCode::GOING_AWAY,
            CloseCode::ABNORMAL,
            CloseCode::INTERNAL_ERROR,
            CloseCode::SERVICE_RESTART,
            CloseCode::TRY_AGAIN_LATER,
            CloseCode::BAD_GATEWAY,
        ] {
            assert!(retried(Ending::PeerClosed(Some(code))), "{code:?}");
        }
        for status in [500, 502, 503, 301] {
            assert!(retried(Ending::Refused {
                status,
                retry_after: None
            }));
        }
    }

    #[test]
    fn a_normal_close_is_retried_when_the_policy_says_so() {
        let policy = no_jitter().after_normal_close(true);
        assert!(Ending::PeerClosed(Some(CloseCode::NORMAL)).is_retryable(&policy));
        assert!(Ending::PeerClosed(None).is_retryable(&policy));
        assert!(!Ending::ClosedByUs.is_retryable(&policy));
    }

    #[test]
    fn retry_after_is_honoured_even_above_the_cap() {
        let mut backoff = Backoff::new(no_jitter());
        let refused = Ending::Refused {
            status: 503,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(backoff.after(&refused, &mut Fixed(&[0], 0)), retry(1, 3000));
        let short = Ending::Refused {
            status: 503,
            retry_after: Some(Duration::from_millis(10)),
        };
        assert_eq!(backoff.after(&short, &mut Fixed(&[0], 0)), retry(2, 200));
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        assert_eq!(parse_retry_after(b"120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(b" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(b"Fri, 31 Dec 1999 23:59:59 GMT"), None);
        assert_eq!(parse_retry_after(b"-1"), None);
        assert_eq!(parse_retry_after(b""), None);
        assert_eq!(parse_retry_after(b"99999999999999999999999"), None);
    }

    #[test]
    fn a_bad_multiplier_means_no_growth() {
        let policy = no_jitter().multiplier(f64::NAN);
        assert_eq!(policy.base_delay(5), Duration::from_millis(100));
        let policy = no_jitter().multiplier(0.5);
        assert_eq!(policy.base_delay(5), Duration::from_millis(100));
    }
}
