//! The drive loop: moves bytes between a transport and a [`Connection`], and time into it.
//!
//! Every public type of this crate is a thin shell over [`Driver`]'s poll methods, which hold
//! no bytes of their own: everything received or queued lives in the engine, so dropping any
//! future that calls them loses nothing (cancel safety by construction).
//!
//! The loop corks: all events decodable from what was read are handed out before anything is
//! written, and the replies they caused leave in one (vectored) write when the caller would
//! otherwise wait for input, when it flushes, or when the write buffer passes its high-water
//! mark.

use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Duration;

use wsproto_core::{BytesMut, CloseCode, Connection, Event, Instant, State};

use crate::runtime::{Timer, Transport};
use wsproto_setup::Error;
use wsproto_setup::ShutdownWatch;

/// Most byte runs handed to one vectored write.
const MAX_IO_SLICES: usize = 32;

pub(crate) struct Driver<T: Transport> {
    pub(crate) io: T,
    pub(crate) conn: Connection,
    /// The instant that the engine's `Instant::ZERO` stands for.
    origin: std::time::Instant,
    /// Created on first use, so that a connection without deadlines holds no timer.
    timer: Option<T::Timer>,
    timer_at: Option<Instant>,
    /// A protocol or I/O error was already returned once; the stream ends after it.
    failed: bool,
    transport_closed: bool,
    /// Completes when the server that accepted this connection shuts down; held for the
    /// connection's lifetime, since graceful shutdown waits for every watch to be dropped.
    shutdown: Option<ShutdownWatch>,
    /// The server's shutdown was seen (and the 1001 close started).
    shutdown_seen: bool,
    /// When to release the buffers if the connection stays quiet until then.
    idle_release_at: Option<Instant>,
    /// When bytes last arrived.
    last_activity: Instant,
    /// The buffers were released and nothing arrived since (no need to arm again).
    released_since_activity: bool,
    /// The idle deadline passed: release the buffers when the next read pends.
    release_on_pending: bool,
    /// Set when the connection is split: wakes both halves on write readiness.
    write_wakers: Option<Arc<WakerPair>>,
    /// Draining input after the close, before the transport is dropped.
    linger: Linger<T::Timer>,
    /// A protocol error to report once the Close it caused has gone out.
    pending_error: Option<wsproto_core::ConnectionError>,
}

std::thread_local! {
    /// Where idle connections on this thread read their next bytes (see `poll_read`).
    static IDLE_READ: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// Size of the per-thread read buffer used by idle connections.
const IDLE_READ_SIZE: usize = 8 * 1024;

/// How long a connection must be quiet before its buffers are released.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// The earlier of two optional deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The linger phase after the closing handshake. The draining state is boxed: every
/// connection carries this field, few ever linger.
enum Linger<Tm> {
    NotStarted,
    Draining(Box<(Tm, BytesMut)>),
    Done,
}

/// Which half of a split connection is polling.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Half {
    Reader,
    Writer,
}

impl<T: Transport> Driver<T> {
    pub(crate) fn new(io: T, conn: Connection, origin: std::time::Instant) -> Self {
        Self {
            io,
            conn,
            origin,
            timer: None,
            timer_at: None,
            failed: false,
            transport_closed: false,
            shutdown: None,
            shutdown_seen: false,
            idle_release_at: None,
            last_activity: Instant::ZERO,
            released_since_activity: false,
            release_on_pending: false,
            write_wakers: None,
            linger: Linger::NotStarted,
            pending_error: None,
        }
    }

    /// Ties this connection to a server's shutdown signal: when it fires, the connection
    /// starts a 1001 close.
    pub(crate) fn set_shutdown(&mut self, watch: ShutdownWatch) {
        self.shutdown = Some(watch);
    }

    pub(crate) fn enable_split_wakers(&mut self) {
        self.write_wakers = Some(Arc::new(WakerPair::default()));
    }

    /// The engine's view of the current time.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    /// [`now`](Self::now) as a function that borrows nothing, to read the clock only when a
    /// step needs it.
    pub(crate) fn clock(&self) -> impl Fn() -> Instant + Copy + use<T> {
        let origin = self.origin;
        move || Instant::from_duration(origin.elapsed())
    }

    /// The next event: drains decoded events first, then writes what is queued, fires timers
    /// and reads more. `None` once the connection is closed and the transport shut down.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Option<Result<Event, Error>>> {
        loop {
            if !self.failed {
                match self.conn.poll_event() {
                    Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                    Ok(None) => {}
                    Err(error) => {
                        // Reported once, after the Close it queued went out and the peer had
                        // its chance to read it (below); the stream ends after it.
                        self.failed = true;
                        self.pending_error = Some(error);
                    }
                }
            }
            if let Poll::Ready(Err(error)) = self.poll_write_queued(cx, half) {
                return self.io_failed(error);
            }
            if self.conn.is_half_closed() {
                // The peer's Close arrived and the application answers it when its sending is
                // done: no more events will come, and the transport stays open for its data.
                return Poll::Ready(None);
            }
            if self.conn.state() == State::Closed || self.failed {
                if self.conn.wants_write() {
                    return Poll::Pending; // the write above registered for readiness
                }
                if let Err(error) = ready!(self.poll_shutdown_transport(cx)) {
                    return self.io_failed(error);
                }
                ready!(self.poll_linger(cx));
                return Poll::Ready(self.pending_error.take().map(|e| Err(Error::from(e))));
            }
            // While input keeps coming, deadlines and the server's shutdown are checked
            // against the clock and a flag; the timer and the shutdown watch are only
            // registered with the waker below, when the task is about to wait.
            let now = self.now();
            if self.fire_due_deadlines(now) || self.start_shutdown_close(false, cx) {
                continue;
            }
            if self.conn.should_pause_reading() {
                // The peer floods us with pings and does not read our replies (the write
                // above is pending and has registered for writability). Stop reading too, so
                // the replies cannot grow the queue without bound.
                if self.register_wakeups(cx) {
                    continue;
                }
                return Poll::Pending;
            }
            match self.poll_read(cx, now) {
                Poll::Ready(Ok(0)) => self.conn.handle_eof(now),
                Poll::Ready(Ok(_)) => {
                    self.last_activity = now;
                    self.released_since_activity = false;
                    self.release_on_pending = false;
                }
                Poll::Ready(Err(error)) => return self.io_failed(error),
                Poll::Pending => {
                    // Nothing to read. If the connection stays quiet for IDLE_RELEASE, its
                    // buffers are given back (see `on_deadline`); releasing at once would
                    // free and regrow them on every batch of a busy connection.
                    if self.release_on_pending {
                        // Quiet for IDLE_RELEASE: give the buffers back while we wait (they
                        // were reserved for this very read, so release after it pended).
                        self.conn.release_buffers();
                        self.release_on_pending = false;
                        self.released_since_activity = true;
                        if self.conn.poll_timeout().is_none() {
                            // No deadline left (no keepalive, no close under way): drop the
                            // timer too; the next idle period creates a new one.
                            self.timer = None;
                            self.timer_at = None;
                        }
                    } else if self.idle_release_at.is_none() && !self.released_since_activity {
                        self.idle_release_at = Some(now + IDLE_RELEASE);
                    }
                    if self.register_wakeups(cx) {
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Reads into the engine: straight into its buffer normally, or — while the buffers are
    /// released on an idle connection — through a per-thread scratch buffer, so waiting for
    /// the next message does not hold (or reallocate) a read buffer per connection.
    fn poll_read(&mut self, cx: &mut Context<'_>, now: Instant) -> Poll<io::Result<usize>> {
        if !self.released_since_activity {
            let limit = self.conn.read_limit();
            let polled = self.io.poll_read_buf(cx, self.conn.read_buffer(), limit);
            if let Poll::Ready(Ok(n)) = polled
                && n > 0
            {
                self.conn.handle_read(now);
            }
            return polled;
        }
        IDLE_READ.with_borrow_mut(|scratch| {
            scratch.clear();
            scratch.reserve(IDLE_READ_SIZE);
            let polled = self.io.poll_read_buf(cx, scratch, usize::MAX);
            if let Poll::Ready(Ok(n)) = polled
                && n > 0
            {
                self.conn.handle_input(scratch, now);
            }
            polled
        })
    }

    fn io_failed<V>(&mut self, error: io::Error) -> Poll<Option<Result<V, Error>>> {
        if let Some(protocol) = self.pending_error.take() {
            // The peer broke the protocol first; that is the error worth reporting.
            self.transport_closed = true;
            return Poll::Ready(Some(Err(Error::from(protocol))));
        }
        if self.failed && self.transport_closed {
            return Poll::Ready(None);
        }
        self.failed = true;
        self.transport_closed = true;
        Poll::Ready(Some(Err(Error::Io(error))))
    }

    /// The earliest deadline: the engine's timers or the idle release.
    fn next_deadline(&self) -> Option<Instant> {
        earliest(self.conn.poll_timeout(), self.idle_release_at)
    }

    /// Handles the deadlines due by `now` without touching the timer; returns whether any was.
    fn fire_due_deadlines(&mut self, now: Instant) -> bool {
        match self.next_deadline() {
            Some(at) if at <= now => {
                self.on_deadline(now);
                true
            }
            _ => false,
        }
    }

    /// Before the task waits: arms the timer for the next deadline and registers for the
    /// server's shutdown. Returns whether either is already due (poll again instead of
    /// waiting).
    fn register_wakeups(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(at) = self.next_deadline() {
            let deadline = self.origin + at.as_duration();
            let timer = self.timer.get_or_insert_with(|| T::Timer::at(deadline));
            if self.timer_at != Some(at) {
                timer.reset(deadline);
                self.timer_at = Some(at);
            }
            if timer.poll_elapsed(cx).is_ready() {
                // The runtime's clock says the deadline passed (it may run ahead of ours,
                // e.g. paused test time): trust it.
                let now = self.now().max(at);
                self.on_deadline(now);
                return true;
            }
        } else {
            self.timer_at = None;
        }
        self.start_shutdown_close(true, cx)
    }

    /// A deadline passed: starts the idle release if the connection stayed quiet, and fires
    /// the engine's timers that are due.
    fn on_deadline(&mut self, now: Instant) {
        self.timer_at = None;
        if let Some(release_at) = self.idle_release_at.filter(|r| *r <= now) {
            let quiet_until = self.last_activity + IDLE_RELEASE;
            if quiet_until <= release_at {
                // Quiet since the deadline was set: release at the next read that pends,
                // so an idle connection costs only its fixed state; the next traffic
                // allocates the buffers again.
                self.release_on_pending = true;
                self.idle_release_at = None;
            } else {
                self.idle_release_at = Some(quiet_until);
            }
        }
        if self.conn.poll_timeout().is_some_and(|t| t <= now) {
            self.conn.handle_timeout(now);
        }
    }

    /// Starts a 1001 close when the accepting server shut down; returns whether it did. With
    /// `register`, also arranges for the task to be woken when that happens.
    fn start_shutdown_close(&mut self, register: bool, cx: &mut Context<'_>) -> bool {
        if self.shutdown_seen {
            return false;
        }
        let Some(shutdown) = self.shutdown.as_mut() else {
            return false;
        };
        let fired = if register {
            shutdown.poll_triggered(cx).is_ready()
        } else {
            shutdown.is_triggered()
        };
        if fired {
            self.shutdown_seen = true;
            let now = self.now();
            self.conn.begin_shutdown(now);
        }
        fired
    }

    /// Writes everything queued (one vectored write per call when the transport supports
    /// it), then flushes the transport.
    ///
    /// When the receiving half of a split connection made room, the sending half is woken:
    /// it may wait for room on a readiness registration that this half's writes replaced or
    /// consumed (futures-io streams keep one per direction), and would otherwise sleep with
    /// bytes still queued.
    pub(crate) fn poll_write_queued(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<io::Result<()>> {
        let before = self.conn.buffered_amount();
        let polled = self.poll_write_out(cx, half);
        if half == Half::Reader
            && self.conn.buffered_amount() < before
            && let Some(pair) = &self.write_wakers
        {
            pair.wake_half(Half::Writer);
        }
        polled
    }

    fn poll_write_out(&mut self, cx: &mut Context<'_>, half: Half) -> Poll<io::Result<()>> {
        let waker = self
            .write_wakers
            .as_ref()
            .map(|pair| pair.register(half, cx.waker()));
        let mut cx = match &waker {
            Some(waker) => Context::from_waker(waker),
            None => Context::from_waker(cx.waker()),
        };
        while self.conn.wants_write() {
            let first = self.conn.transmit();
            let written =
                if first.len() == self.conn.buffered_amount() || !self.io.is_write_vectored() {
                    // One contiguous run (or a transport that takes one slice at a time).
                    ready!(self.io.poll_write(&mut cx, first))?
                } else {
                    let mut runs: [&[u8]; MAX_IO_SLICES] = [&[]; MAX_IO_SLICES];
                    let count = self.conn.transmit_chunks(&mut runs);
                    let slices: [IoSlice<'_>; MAX_IO_SLICES] =
                        std::array::from_fn(|i| IoSlice::new(runs[i]));
                    ready!(self.io.poll_write_vectored(&mut cx, &slices[..count]))?
                };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(written);
        }
        self.io.poll_flush(&mut cx)
    }

    /// Waits until the write buffer is below its high-water mark (backpressure for sends).
    pub(crate) fn poll_send_ready(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        while self.conn.is_write_buffer_full() {
            if self.transport_closed {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::BrokenPipe.into())));
            }
            ready!(self.poll_write_queued(cx, half)).map_err(Error::Io)?;
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        half: Half,
    ) -> Poll<Result<(), Error>> {
        self.poll_write_queued(cx, half).map_err(Error::Io)
    }

    /// Runs the closing handshake to its end: starts it with `code` and `reason` unless a
    /// Close was already sent, then reads (dropping data that still arrives) until the peer's
    /// Close, the close timeout, or the end of the stream.
    pub(crate) fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        code: CloseCode,
        reason: &str,
    ) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open || self.conn.is_half_closed() {
            let now = self.now();
            self.conn.close(code, reason, now)?;
        }
        loop {
            match ready!(self.poll_event(cx, Half::Reader)) {
                Some(Ok(_)) => {}
                // The peer vanishing while we close is what we asked for.
                Some(Err(Error::Lost(wsproto_setup::ConnectionLost::UnexpectedEof))) => {}
                Some(Err(error)) => return Poll::Ready(Err(error)),
                None => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Shuts the transport down (once), after which the peer sees the end of the stream.
    fn poll_shutdown_transport(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.transport_closed {
            return Poll::Ready(Ok(()));
        }
        let result = ready!(self.io.poll_shutdown(cx));
        self.transport_closed = true;
        // A peer that already left makes shutdown fail; the connection is over either way.
        Poll::Ready(match result {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }

    /// Closes the transport at once, without a closing handshake.
    pub(crate) fn poll_abort(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.failed = true;
        self.linger = Linger::Done;
        self.poll_shutdown_transport(cx)
    }

    /// After our sending side is shut down, reads and discards until the peer closes too
    /// (at most what [`Connection::linger`] says). Closing a socket with unread input makes the kernel send a
    /// reset, which can destroy our Close frame before the peer reads it — this is how a
    /// peer that was still sending (say, the rest of an oversized message) learns the code.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if matches!(self.linger, Linger::NotStarted) {
            let Some(linger) = self.conn.linger() else {
                self.linger = Linger::Done;
                return Poll::Ready(());
            };
            let until = std::time::Instant::now() + linger;
            self.linger = Linger::Draining(Box::new((
                T::Timer::at(until),
                BytesMut::with_capacity(4096),
            )));
        }
        let Linger::Draining(draining) = &mut self.linger else {
            return Poll::Ready(());
        };
        let (timer, buf) = &mut **draining;
        loop {
            if timer.poll_elapsed(cx).is_ready() {
                break;
            }
            buf.clear();
            match self.io.poll_read_buf(cx, buf, usize::MAX) {
                Poll::Ready(Ok(0) | Err(_)) => break,
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
        self.linger = Linger::Done;
        Poll::Ready(())
    }
}

impl<T: Transport> Driver<T> {
    /// Wakes the receiving half of a split connection, if it waits: the sending half just
    /// created a deadline (a close timeout) that only the receiving half's polling arms a
    /// timer for.
    pub(crate) fn wake_reader(&self) {
        if let Some(pair) = &self.write_wakers {
            pair.wake_half(Half::Reader);
        }
    }
}

/// The wakers of both halves of a split connection: whichever half polls the transport for
/// writing, both are woken when it becomes writable, so neither can steal the other's wakeup.
#[derive(Default)]
pub(crate) struct WakerPair {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl WakerPair {
    fn register(self: &Arc<Self>, half: Half, waker: &Waker) -> Waker {
        let index = usize::from(half == Half::Writer);
        if let Ok(mut slots) = self.slots.lock() {
            match &mut slots[index] {
                Some(existing) if existing.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
        Waker::from(Arc::clone(self))
    }
}

impl WakerPair {
    fn wake_half(&self, half: Half) {
        let index = usize::from(half == Half::Writer);
        let waker = match self.slots.lock() {
            Ok(mut slots) => slots[index].take(),
            Err(_) => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for WakerPair {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = match self.slots.lock() {
            Ok(mut slots) => [slots[0].take(), slots[1].take()],
            Err(_) => [None, None],
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}
