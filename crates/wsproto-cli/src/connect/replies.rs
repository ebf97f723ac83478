//! One-shot mode (`-x`): after the last message is sent, the session keeps printing replies
//! until the server has been quiet for `--wait` or `--count` replies arrived, and only then
//! closes. [`Replies`] decides when that is, without I/O or a clock of its own, so the async
//! and the blocking sessions stop alike; [`Replies::quiet`] is the async wait on top.
//!
//! A reply is any data message received since the connection opened (also before the last
//! `-x` message went out).

use std::time::{Duration, Instant};

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use wsproto_async::{Timer, with_deadline};

use crate::args::Execute;

/// Counts replies and says when the one-shot session may close.
#[derive(Debug)]
pub(super) struct Replies {
    wait: Duration,
    count: Option<u64>,
    seen: u64,
    /// Start of the current quiet period: the latest reply, or when sending finished.
    since: Instant,
}

impl Replies {
    pub(super) fn new(execute: &Execute) -> Self {
        Self {
            wait: execute.wait,
            count: execute.count,
            seen: 0,
            since: Instant::now(),
        }
    }

    /// A data message arrived at `now`.
    pub(super) fn on_reply(&mut self, now: Instant) {
        self.seen += 1;
        self.since = now;
    }

    /// The last message was sent at `now`: the quiet period starts.
    pub(super) fn on_sent_all(&mut self, now: Instant) {
        self.since = self.since.max(now);
    }

    /// Whether to close now: enough replies, or quiet for `--wait`.
    pub(super) fn is_done(&self, now: Instant) -> bool {
        self.count.is_some_and(|count| self.seen >= count) || now >= self.deadline()
    }

    /// When the quiet period ends unless another reply comes.
    pub(super) fn deadline(&self) -> Instant {
        self.since + self.wait
    }

    /// `(received, wanted)` when `--count` asked for more replies than arrived.
    pub(super) fn missing(&self) -> Option<(u64, u64)> {
        self.count
            .filter(|count| self.seen < *count)
            .map(|count| (self.seen, count))
    }

    /// Waits, on timer `T`, until [`is_done`](Self::is_done); `arrived` yields once per reply
    /// (and ends when the receiving side is over, which ends the wait too).
    pub(super) async fn quiet<T: Timer>(&mut self, arrived: &mut UnboundedReceiver<()>) {
        self.on_sent_all(Instant::now());
        while !self.is_done(Instant::now()) {
            match with_deadline::<T, _>(self.deadline(), arrived.next()).await {
                Some(Some(())) => self.on_reply(Instant::now()),
                Some(None) => return,
                // The deadline passed: `is_done` says so.
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(wait_ms: u64, count: Option<u64>) -> Replies {
        Replies::new(&Execute {
            messages: vec!["x".into()],
            wait: Duration::from_millis(wait_ms),
            count,
        })
    }

    #[test]
    fn quiet_for_the_wait_after_sending_and_after_each_reply() {
        let mut r = replies(100, None);
        let t0 = Instant::now();
        r.on_sent_all(t0);
        assert!(!r.is_done(t0 + Duration::from_millis(99)));
        r.on_reply(t0 + Duration::from_millis(90));
        assert!(
            !r.is_done(t0 + Duration::from_millis(150)),
            "a reply restarts it"
        );
        assert!(r.is_done(t0 + Duration::from_millis(190)));
        assert_eq!(r.missing(), None);
    }

    #[test]
    fn count_ends_early_and_reports_what_is_missing() {
        let mut r = replies(1000, Some(2));
        let t0 = Instant::now();
        r.on_reply(t0);
        r.on_sent_all(t0);
        assert!(!r.is_done(t0));
        assert_eq!(r.missing(), Some((1, 2)));
        r.on_reply(t0);
        assert!(r.is_done(t0), "the second reply is enough");
        assert_eq!(r.missing(), None);
    }
}
