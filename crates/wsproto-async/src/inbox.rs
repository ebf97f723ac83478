//! [`Inbox`]: where a server's handshake tasks, running on their own, leave their outcome for
//! [`Server::accept`](crate::Server::accept) to pick up.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use wsproto_setup::EVICT_AFTER;

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
    /// Handshakes still running and evictable (not yet [claimed](Inbox::claim)), oldest
    /// first (ids increase), with when they started and their eviction flags.
    running: BTreeMap<u64, (Instant, Arc<Eviction>)>,
    next_id: u64,
}

/// Tells one running handshake to give up: the pending-handshake cap was reached and it was
/// the oldest (see [`Inbox::evict_oldest`]).
#[derive(Default)]
pub(crate) struct Eviction {
    evicted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Eviction {
    /// Ready once evicted; registers `cx` otherwise.
    pub(crate) fn poll_evicted(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.evicted.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        if self.evicted.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::SeqCst);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: Transport> Inbox<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                done: VecDeque::new(),
                outstanding: 0,
                waiter: None,
                closed: false,
                running: BTreeMap::new(),
                next_id: 0,
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

    /// When the oldest running handshake may be evicted ([`EVICT_AFTER`] after it started);
    /// `None` when none is running.
    pub(crate) fn evictable_at(&self) -> Option<Instant> {
        let state = self.lock();
        let (_, (started, _)) = state.running.first_key_value()?;
        Some(*started + EVICT_AFTER)
    }

    /// Counts one more handshake in progress; returns its id and its eviction flag.
    pub(crate) fn start(&self) -> (u64, Arc<Eviction>) {
        let mut state = self.lock();
        state.outstanding += 1;
        let id = state.next_id;
        state.next_id += 1;
        let eviction = Arc::new(Eviction::default());
        state
            .running
            .insert(id, (Instant::now(), Arc::clone(&eviction)));
        (id, eviction)
    }

    /// The pending-handshake cap is reached and a new connection arrived: tells the oldest
    /// running handshake to give up if it has been running for [`EVICT_AFTER`] (the slowest
    /// by construction: a client that sends its request finishes in a round trip, so the
    /// oldest are the silent and the trickling ones). Returns whether it did.
    pub(crate) fn evict_oldest(&self, now: Instant) -> bool {
        let oldest = {
            let mut state = self.lock();
            match state.running.first_key_value() {
                Some((_, (started, _))) if *started + EVICT_AFTER <= now => {
                    state.running.pop_first()
                }
                _ => None,
            }
        };
        match oldest {
            Some((_, (_, eviction))) => {
                eviction.evict();
                true
            }
            None => false,
        }
    }

    /// The handshake `id` has its whole request: it leaves eviction's reach. `false` when
    /// it was evicted first (it must then give up without answering).
    pub(crate) fn claim(&self, id: u64) -> bool {
        self.lock().running.remove(&id).is_some()
    }

    /// A handshake task's outcome; `None` when it was abandoned.
    pub(crate) fn finish(&self, id: u64, outcome: Option<Result<WebSocket<T>>>) {
        let (waiter, unwanted) = {
            let mut state = self.lock();
            state.running.remove(&id);
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
