//! [`Inbox`]: where a server's handshake tasks, running on their own, leave their outcome for
//! [`Server::accept`](crate::Server::accept) to pick up.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use wsproto_setup::Result;

use crate::runtime::Transport;
use crate::websocket::WebSocket;

/// Queue capacity kept when it empties; more is given back.
const SHRINK_ABOVE: usize = 16;

/// Outcomes of handshakes, and how many were started and not yet picked up.
pub(crate) struct Inbox<T: Transport> {
    state: Mutex<State<T>>,
}

struct State<T: Transport> {
    done: VecDeque<Result<WebSocket<T>>>,
    /// Started and not yet picked up (running, or done and waiting in `done`).
    outstanding: usize,
    /// The task waiting in `accept`, woken when an outcome arrives.
    waiter: Option<Waker>,
    /// No one will pick outcomes up any more: drop them on arrival.
    closed: bool,
}

impl<T: Transport> Inbox<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                done: VecDeque::new(),
                outstanding: 0,
                waiter: None,
                closed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Handshakes started and not yet picked up.
    pub(crate) fn outstanding(&self) -> usize {
        self.lock().outstanding
    }

    /// Counts one more handshake in progress.
    pub(crate) fn start(&self) {
        self.lock().outstanding += 1;
    }

    /// A handshake task's outcome; `None` when it was abandoned.
    pub(crate) fn finish(&self, outcome: Option<Result<WebSocket<T>>>) {
        let (waiter, unwanted) = {
            let mut state = self.lock();
            let unwanted = match outcome {
                Some(outcome) if !state.closed => {
                    state.done.push_back(outcome);
                    None
                }
                other => {
                    state.outstanding -= 1;
                    other
                }
            };
            (state.waiter.take(), unwanted)
        };
        // Dropped outside the lock: dropping a connection may take other locks.
        drop(unwanted);
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// The next outcome, or `Pending` with `cx` registered to be woken by the next one.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Result<WebSocket<T>>> {
        let mut state = self.lock();
        match state.done.pop_front() {
            Some(outcome) => {
                state.outstanding -= 1;
                // A burst of connections can queue thousands of finished handshakes, each a
                // whole WebSocket; once drained, give that room back instead of keeping it
                // for the server's life.
                if state.done.is_empty() && state.done.capacity() > SHRINK_ABOVE {
                    state.done = VecDeque::new();
                }
                Poll::Ready(outcome)
            }
            None => {
                state.waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Drops every outcome waiting and every one still to come.
    pub(crate) fn close(&self) {
        let done = {
            let mut state = self.lock();
            state.closed = true;
            state.outstanding -= state.done.len();
            std::mem::take(&mut state.done)
        };
        // Dropped outside the lock: dropping a connection may take other locks.
        drop(done);
    }
}
