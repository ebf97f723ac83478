//! The connection's thread: moves queued commands into the engine and writes them, reads
//! and reports events while the receiver has room, and parks in between — until the
//! connection ends. What each step means is [`Tracker`]'s (shared with the async adapters).
//!
//! A blocking read cannot be interrupted when the application queues a message, so the
//! thread never blocks in one. A watcher thread waits until the socket has bytes (`peek` on
//! a second handle, [`BlockingTransport::readiness`]) and unparks it; the application's
//! handles unpark it too; the engine's next deadline bounds each park. A transport without
//! a second handle is read with a short timeout instead ([`POLL_WITHOUT_READINESS`]).

use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use wsproto_setup::live::{End, Shared, Tracker};
use wsproto_setup::{Error, ShutdownWatch};

use super::wait::thread_waker;
use crate::drive::SHUTDOWN_POLL;
use crate::transport::{BlockingTransport, MIN_READ_TIMEOUT, is_retry};
use crate::websocket::WebSocket;

/// How long one read may wait on a transport that offers no readiness handle.
const POLL_WITHOUT_READINESS: Duration = Duration::from_millis(10);

/// Drives `ws` on this thread until it ends, reporting through `shared`.
pub(super) fn drive<S: BlockingTransport>(ws: &mut WebSocket<S>, shared: &Shared) -> End {
    let waker = thread_waker();
    let watcher = ws
        .stream
        .readiness()
        .map(|socket| Watcher::start(socket, waker.clone()));
    if let Some(watcher) = &watcher {
        watcher.watch_again(ws);
    }
    let mut live = Tracker::new();
    // The engine may hold events the socket will not announce: bytes that came with the
    // handshake, or events the receiver had no room for. Read on without readiness.
    let mut unread = true;
    loop {
        live.begin(shared);
        let mut progress = apply_commands(ws, &mut live);
        let clock = ws.clock();
        progress |= live.close_if_abandoned(&mut ws.conn, clock);
        if let Err(error) = ws.write_queued() {
            live.fail(Error::Io(error));
        }
        let readable = watcher.as_ref().is_none_or(Watcher::take_readable);
        if readable || unread || deadline_passed(ws) {
            match take_events(ws, &mut live, watcher.is_some()) {
                Taken::Ended => {
                    if let Some(watcher) = &watcher {
                        watcher.stop();
                    }
                    return live.end(&ws.conn, shared);
                }
                Taken::Drained => unread = false,
                Taken::NoRoom => unread = true,
            }
        }
        if readable && let Some(watcher) = &watcher {
            watcher.watch_again(ws);
        }
        let again = live.finish_round(&ws.conn, shared, progress, &waker);
        if again || (unread && shared.lock().has_event_room()) {
            continue;
        }
        if watcher.is_some() {
            match park_time(ws) {
                Some(wait) => thread::park_timeout(wait),
                None => thread::park(),
            }
        }
    }
}

/// Hands commands to the engine, writing out whenever its buffer is full.
fn apply_commands<S: BlockingTransport>(ws: &mut WebSocket<S>, live: &mut Tracker) -> bool {
    let mut applied = false;
    while live.command_ready(&ws.conn) {
        if ws.conn.is_write_buffer_full()
            && let Err(error) = ws.write_queued()
        {
            live.fail(Error::Io(error));
            break;
        }
        let Some(command) = live.next_command(&ws.conn) else {
            break;
        };
        applied = true;
        let clock = ws.clock();
        live.apply(&mut ws.conn, clock, command);
    }
    applied
}

/// What [`take_events`] got to.
enum Taken {
    /// The connection is over.
    Ended,
    /// Everything readable was read.
    Drained,
    /// The receiver is full (or the half-closed connection waits for our answer).
    NoRoom,
}

/// Takes events while the receiver has room and the engine has them (reading what the
/// socket holds).
fn take_events<S: BlockingTransport>(
    ws: &mut WebSocket<S>,
    live: &mut Tracker,
    has_watcher: bool,
) -> Taken {
    let wait = if has_watcher {
        MIN_READ_TIMEOUT
    } else {
        POLL_WITHOUT_READINESS
    };
    while live.wants_event() {
        let sent_first = ws.conn.close_sent().is_some();
        match ws.poll_next_event(wait) {
            Poll::Pending => return Taken::Drained,
            Poll::Ready(None) if ws.conn.is_half_closed() => live.park(),
            Poll::Ready(None) => return Taken::Ended,
            Poll::Ready(Some(Err(error))) => live.fail(error),
            Poll::Ready(Some(Ok(event))) => live.on_event(event, sent_first),
        }
    }
    Taken::NoRoom
}

/// Whether an engine deadline (keepalive, close timeout) or the server's shutdown is due.
fn deadline_passed<S: BlockingTransport>(ws: &WebSocket<S>) -> bool {
    let engine = ws.conn.poll_timeout().is_some_and(|at| at <= ws.now());
    engine || shutdown_fired(ws.shutdown.as_ref(), ws.shutdown_seen)
}

fn shutdown_fired(watch: Option<&ShutdownWatch>, seen: bool) -> bool {
    !seen && watch.is_some_and(ShutdownWatch::is_triggered)
}

/// How long the thread may park: until the engine's next deadline, and at most
/// [`SHUTDOWN_POLL`] while a server's shutdown signal is attached.
fn park_time<S: BlockingTransport>(ws: &WebSocket<S>) -> Option<Duration> {
    let engine = ws
        .conn
        .poll_timeout()
        .map(|at| at.saturating_since(ws.now()));
    let shutdown = (ws.shutdown.is_some() && !ws.shutdown_seen).then_some(SHUTDOWN_POLL);
    match (engine, shutdown) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Waits on a second handle of the socket until it has bytes to read, then unparks the
/// connection's thread; waits again when told to.
struct Watcher {
    socket: TcpStream,
    state: Arc<(Mutex<WatchState>, Condvar)>,
}

#[derive(Default)]
struct WatchState {
    /// The socket has bytes (or reached its end) that the connection has not read yet.
    readable: bool,
    /// The connection read them: peek again.
    armed: bool,
    stopped: bool,
}

impl Watcher {
    fn start(socket: TcpStream, waker: std::task::Waker) -> Self {
        let state = Arc::new((Mutex::new(WatchState::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        let peeker = socket.try_clone();
        thread::spawn(move || {
            let Ok(peeker) = peeker else { return };
            let (lock, armed) = &*shared;
            loop {
                {
                    let mut watch = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    while !watch.armed && !watch.stopped {
                        watch = armed.wait(watch).unwrap_or_else(PoisonError::into_inner);
                    }
                    if watch.stopped {
                        return;
                    }
                    watch.armed = false;
                }
                // Blocks until bytes arrive, the peer ends the stream or the socket fails (the
                // connection's thread cleared the socket's read timeout before arming; if a
                // timeout still cut the wait short, that thread looks and arms again).
                let ended = match peeker.peek(&mut [0; 1]) {
                    Ok(n) => n == 0,
                    Err(error) => !is_retry(&error),
                };
                lock.lock().unwrap_or_else(PoisonError::into_inner).readable = true;
                waker.wake_by_ref();
                if ended {
                    return;
                }
            }
        });
        Self { socket, state }
    }

    /// Whether bytes arrived since the last call.
    fn take_readable(&self) -> bool {
        let mut watch = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut watch.readable)
    }

    /// What arrived was read: watch for more. The socket's read timeout is shared by both
    /// handles, so the connection's reads' short timeout is cleared first (through
    /// `ws`, which remembers what it set).
    fn watch_again<S: BlockingTransport>(&self, ws: &mut WebSocket<S>) {
        let _ = ws.set_read_timeout(None);
        let mut watch = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        watch.armed = true;
        self.state.1.notify_one();
    }

    /// The connection is over: ends the watcher (a peek still waiting ends with the socket).
    fn stop(&self) {
        let mut watch = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        watch.stopped = true;
        self.state.1.notify_one();
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}
