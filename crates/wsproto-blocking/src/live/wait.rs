//! Waiting on the live connection's futures from plain threads: the waker unparks the
//! waiting thread, which parks until woken (or until a deadline).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

use wsproto_setup::live::Shared;

/// Wakes a thread parked in [`block_on`] or the connection's thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks the current thread.
pub(super) fn thread_waker() -> Waker {
    Waker::from(Arc::new(Unpark(thread::current())))
}

/// Runs `future` on this thread, parking while it waits: how the blocking adapter waits on
/// the runtime-free futures of a live connection's [`Handle`](crate::Handle) and
/// [`Events`](crate::Events) (their `into_inner` forms), for code shared with the async
/// adapters. Needs no runtime; futures that need one (tokio I/O, timers) never complete here.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// Like [`block_on`], giving up at `deadline` (`None` then).
pub(crate) fn block_on_until<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        thread::park_timeout(left);
    }
}

/// Sleeps until `deadline`, or until the application gives the client up (closes it or drops
/// every handle; both wake the connection's thread).
pub(super) fn until_abandoned(shared: &Shared, deadline: Instant) {
    let waker = thread_waker();
    loop {
        {
            let mut state = shared.lock();
            if state.abandoned() {
                return;
            }
            state.register_task(&waker);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        thread::park_timeout(left);
    }
}
