//! A runtime-agnostic graceful-shutdown signal between a server and the connections it
//! accepted.
//!
//! The server holds a [`ShutdownSignal`]; every accepted connection holds a
//! [`ShutdownWatch`]. Triggering the signal wakes every watch (each connection then starts a
//! 1001 close); the server can wait until every watch is dropped. Each watch owns one waker
//! slot, so polling it often never grows memory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    triggered: AtomicBool,
    live: AtomicUsize,
    slots: Mutex<Slots>,
    drained: Mutex<Option<Waker>>,
}

#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The server's side: triggers shutdown and waits for connections to go.
#[derive(Clone, Default)]
pub struct ShutdownSignal {
    state: Arc<State>,
}

impl ShutdownSignal {
    /// A signal with no connections yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A watch for one more connection.
    #[must_use]
    pub fn watch(&self) -> ShutdownWatch {
        self.state.live.fetch_add(1, Ordering::SeqCst);
        let slot = {
            let mut slots = lock(&self.state.slots);
            match slots.free.pop() {
                Some(slot) => slot,
                None => {
                    slots.wakers.push(None);
                    slots.wakers.len() - 1
                }
            }
        };
        ShutdownWatch {
            state: Arc::clone(&self.state),
            slot,
        }
    }

    /// Tells every connection to close.
    pub fn trigger(&self) {
        self.state.triggered.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = lock(&self.state.slots)
            .wakers
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }

    /// Connections whose watch is still alive.
    #[must_use]
    pub fn live(&self) -> usize {
        self.state.live.load(Ordering::SeqCst)
    }

    /// Ready once no watch is left.
    pub fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        *lock(&self.state.drained) = Some(cx.waker().clone());
        if self.live() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A connection's side: completes when the server shuts down.
pub struct ShutdownWatch {
    state: Arc<State>,
    slot: usize,
}

impl ShutdownWatch {
    /// Whether shutdown was triggered, without registering for a wakeup (one atomic load,
    /// cheap enough to check on every batch of input).
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.state.triggered.load(Ordering::SeqCst)
    }

    /// Ready once shutdown was triggered.
    pub fn poll_triggered(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.triggered.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if let Some(slot) = lock(&self.state.slots).wakers.get_mut(self.slot) {
            // A connection polls this each time it waits for input: keep the stored waker
            // when it already wakes this task, sparing a clone and a drop (two atomics).
            match slot {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        // Re-check: a trigger between the load and the registration must not be missed.
        if self.state.triggered.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for ShutdownWatch {
    fn drop(&mut self) {
        {
            let mut slots = lock(&self.state.slots);
            if let Some(slot) = slots.wakers.get_mut(self.slot) {
                *slot = None;
            }
            slots.free.push(self.slot);
        }
        if self.state.live.fetch_sub(1, Ordering::SeqCst) == 1
            && let Some(waker) = lock(&self.state.drained).take()
        {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn trigger_reaches_watches_and_drain_counts_them() {
        let signal = ShutdownSignal::new();
        let mut a = signal.watch();
        let b = signal.watch();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(a.poll_triggered(&mut cx).is_pending());
        assert!(a.poll_triggered(&mut cx).is_pending()); // re-polling reuses the slot
        assert_eq!(lock(&signal.state.slots).wakers.len(), 2);
        signal.trigger();
        assert!(a.poll_triggered(&mut cx).is_ready());
        assert!(signal.poll_drained(&mut cx).is_pending());
        drop(a);
        drop(b);
        assert_eq!(signal.live(), 0);
        assert!(signal.poll_drained(&mut cx).is_ready());
        // Slots are reused.
        let _c = signal.watch();
        assert_eq!(lock(&signal.state.slots).wakers.len(), 2);
    }
}
