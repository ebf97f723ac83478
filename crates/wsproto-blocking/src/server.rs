//! [`Server`]: listen on TCP and hand out WebSocket connections whose handshake succeeded.
//!
//! A background acceptor thread takes TCP connections and runs each opening handshake on its
//! own thread ([`accept_stream`]), with the handshake timeout as the socket's read deadline,
//! so one silent or trickling client never delays the others. Finished connections are
//! handed to [`Server::accept`] over a rendezvous channel; failed ones are counted and
//! handed to the configured [`ServerConfig::on_failed_handshake`] hook with the client's
//! address.
//!
//! Invariants: at most [`ServerConfig::get_max_pending_handshakes`] connections are held
//! between the TCP accept and [`Server::accept`] (in their handshake or waiting to be taken),
//! plus one while an eviction takes effect: at the cap a new connection evicts the oldest
//! handshake still running once it has run for [`EVICT_AFTER`]; until then, and while
//! finished handshakes fill the cap, new TCP connections wait in the kernel's backlog, as
//! they do while accepting is paused. Dropping the server stops the acceptor without hanging and cuts off every
//! handshake in progress; shutting it down also closes every connection it handed out with
//! 1001 and waits for them, up to a grace period.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsproto_setup::{EVICT_AFTER, Error, Result, ServerConfig, ShutdownSignal};

use crate::TcpWebSocket;
use crate::accept::accept_tcp;

/// What the acceptor hands to [`Server::accept`].
type Ready = Result<TcpWebSocket>;

/// How long the acceptor pauses after a listener error (e.g. out of file descriptors).
const ERROR_BACKOFF: Duration = Duration::from_millis(10);
/// How long shutdown tries to connect to its own listener to wake the acceptor.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// A WebSocket server on a TCP listener.
///
/// ```no_run
/// # fn run() -> wsproto_blocking::Result<()> {
/// use wsproto_blocking::{Server, ServerConfig};
/// let config = ServerConfig::default().subprotocol("chat").server_name("demo");
/// let server = Server::bind_with("127.0.0.1:0", config)?;
/// println!("listening on {}", server.url());
/// while let Ok(mut ws) = server.accept() {
///     std::thread::spawn(move || {
///         while let Some(Ok(message)) = ws.recv() {
///             // feed() batches replies; they leave when recv() would wait.
///             if ws.feed(message).is_err() {
///                 break;
///             }
///         }
///     });
/// }
/// # Ok(()) }
/// ```
pub struct Server {
    local_addr: SocketAddr,
    /// `ws` or `wss` (with a certificate).
    scheme: &'static str,
    ready: Receiver<Ready>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    /// Watched by every connection handed out: fires at graceful shutdown (1001).
    connections: ShutdownSignal,
}

/// State shared by the server, its acceptor and the handshake threads.
#[derive(Default)]
struct Shared {
    stopped: AtomicBool,
    /// Accepting is paused: the acceptor waits (on `slot_freed`) before its next accept.
    paused: AtomicBool,
    failed: AtomicU64,
    pending: Mutex<Pending>,
    slot_freed: Condvar,
}

/// Connections between the TCP accept and [`Server::accept`].
#[derive(Default)]
struct Pending {
    count: usize,
    next_id: u64,
    /// Clones of the sockets still waiting for their request (not yet
    /// [claimed](Shared::claim)), to cut them off at shutdown or to evict the oldest (ids
    /// increase with age).
    streams: BTreeMap<u64, (Instant, TcpStream)>,
    /// Handshakes cut off by eviction, so their threads report why.
    evicted: HashSet<u64>,
}

impl Server {
    /// Listens on `addr` with the default configuration (port 0 picks a free port).
    pub fn bind(addr: impl ToSocketAddrs) -> Result<Self> {
        Self::bind_with(addr, ServerConfig::default())
    }

    /// Listens on `addr` with `config`.
    pub fn bind_with(addr: impl ToSocketAddrs, config: ServerConfig) -> Result<Self> {
        let mut last_error = std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address");
        for addr in addr.to_socket_addrs().map_err(Error::Io)? {
            match wsproto_setup::listen(addr, config.get_backlog()) {
                Ok(listener) => return Self::from_listener(listener, config),
                Err(error) => last_error = error,
            }
        }
        Err(Error::Io(last_error))
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener, config: ServerConfig) -> Result<Self> {
        let local_addr = listener.local_addr().map_err(Error::Io)?;
        let scheme = config.scheme();
        let shared = Arc::new(Shared::default());
        let (sender, ready) = sync_channel(0);
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("wsproto-acceptor".into())
                .spawn(move || run_acceptor(&listener, &Arc::new(config), &shared, &sender))
                .map_err(Error::Io)?
        };
        Ok(Self {
            local_addr,
            scheme,
            ready,
            shared,
            acceptor: Some(acceptor),
            connections: ShutdownSignal::new(),
        })
    }

    /// The address the server listens on (with the real port when 0 was asked).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to: `ws://host:port/`, or `wss://` with a certificate.
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}/", self.scheme, self.local_addr)
    }

    /// Handshakes that failed or were refused so far (bad requests, timeouts, refusals,
    /// plain HTTP requests).
    #[must_use]
    pub fn failed_handshakes(&self) -> u64 {
        self.shared.failed.load(Ordering::SeqCst)
    }

    /// The next connection whose handshake succeeded, blocking until there is one. Failed
    /// handshakes are counted ([`failed_handshakes`](Self::failed_handshakes)) and skipped;
    /// only a failure of the listener itself is returned.
    pub fn accept(&self) -> Result<TcpWebSocket> {
        self.ready
            .recv()
            .unwrap_or_else(|_| Err(stopped()))
            .map(|ws| self.tie_to_shutdown(ws))
    }

    /// Like [`accept`](Self::accept), waiting at most `timeout`; `Ok(None)` if no handshake
    /// completed in that time.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Option<TcpWebSocket>> {
        match self.ready.recv_timeout(timeout) {
            Ok(ready) => ready.map(|ws| Some(self.tie_to_shutdown(ws))),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(stopped()),
        }
    }

    /// A connection handed out closes with 1001 at graceful shutdown (checked at least every
    /// 100 ms while it receives, and by its live thread).
    fn tie_to_shutdown(&self, mut ws: TcpWebSocket) -> TcpWebSocket {
        ws.attach_shutdown(self.connections.watch());
        ws
    }

    /// Stops taking new TCP connections (they wait in the kernel's backlog); handshakes
    /// already under way still complete. A TCP accept already waiting when this is called
    /// still takes its connection.
    pub fn pause_accepting(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
    }

    /// Takes new TCP connections again.
    pub fn resume_accepting(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        // Taken so the acceptor cannot miss the wakeup between its check and its wait.
        let _pending = self.shared.lock();
        self.shared.slot_freed.notify_all();
    }

    /// Whether new TCP connections are being taken.
    #[must_use]
    pub fn is_accepting(&self) -> bool {
        !self.shared.paused.load(Ordering::SeqCst)
    }

    /// Graceful shutdown: stops listening (the acceptor ends, handshakes in progress are cut
    /// off, connections not yet taken by [`accept`](Self::accept) are dropped), asks every
    /// connection it handed out to close with 1001 (going away), and waits up to `grace` for
    /// them to finish. Returns how many were still open at the deadline.
    ///
    /// Connections close as their owners keep receiving (or on their own with
    /// [`spawn`](crate::WebSocket::spawn)). Dropping the server only stops listening.
    pub fn shutdown(mut self, grace: Duration) -> usize {
        self.stop();
        self.connections.trigger();
        let deadline = std::time::Instant::now() + grace;
        let drained = std::future::poll_fn(|cx| self.connections.poll_drained(cx));
        let _ = crate::live::block_on_until(deadline, drained);
        self.connections.live()
    }

    fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        // Disconnect the channel first: whoever is blocked handing over gives up.
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.ready, closed));
        self.shared.stop();
        // The acceptor may be blocked in `accept`: one connection to ourselves wakes it.
        let woken = TcpStream::connect_timeout(&wake_addr(self.local_addr), WAKE_TIMEOUT).is_ok();
        if woken || acceptor.is_finished() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("pending", &self.shared.lock().count)
            .field("failed_handshakes", &self.failed_handshakes())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Waits until a new connection may be taken: a pending slot is free, or the oldest
    /// running handshake has run for [`EVICT_AFTER`] (it makes room,
    /// [`evict_oldest`](Self::evict_oldest)), and accepting is not paused; `false` once the
    /// server stops.
    fn wait_for_slot(&self, max: usize) -> bool {
        let mut pending = self.lock();
        loop {
            if self.is_stopped() {
                return false;
            }
            let paused = self.paused.load(Ordering::SeqCst);
            let evictable_at = pending
                .streams
                .first_key_value()
                .map(|(_, (started, _))| *started + EVICT_AFTER);
            let wait = match evictable_at {
                _ if paused => None,
                _ if pending.count < max => return true,
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    None => return true,
                    Some(left) => Some(left),
                },
                None => None,
            };
            pending = match wait {
                Some(left) => {
                    self.slot_freed
                        .wait_timeout(pending, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .slot_freed
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    /// Takes a slot for a new connection and remembers its socket; returns its id.
    fn register(&self, stream: &TcpStream) -> u64 {
        let mut pending = self.lock();
        pending.count += 1;
        let id = pending.next_id;
        pending.next_id += 1;
        if let Ok(clone) = stream.try_clone() {
            pending.streams.insert(id, (Instant::now(), clone));
        }
        id
    }

    /// At the cap with a new connection in hand: cuts off the oldest handshake still
    /// running if it has run for [`EVICT_AFTER`] (the slowest by construction: a client that
    /// sends its request finishes in a round trip, so the oldest are the silent and the
    /// trickling ones).
    fn evict_oldest(&self, max: usize) {
        let mut pending = self.lock();
        if pending.count < max {
            return;
        }
        let evictable = pending
            .streams
            .first_key_value()
            .is_some_and(|(_, (started, _))| *started + EVICT_AFTER <= Instant::now());
        if !evictable {
            return;
        }
        if let Some((id, (_, stream))) = pending.streams.pop_first() {
            let _ = stream.shutdown(Shutdown::Both);
            pending.evicted.insert(id);
        }
    }

    /// The handshake `id` has its whole request: it leaves eviction's reach. `false` when
    /// it was evicted first (it must then give up without answering).
    fn claim(&self, id: u64) -> bool {
        let mut pending = self.lock();
        if pending.evicted.contains(&id) {
            return false;
        }
        pending.streams.remove(&id);
        true
    }

    /// The connection left its handshake: shutdown must no longer touch its socket. Returns
    /// whether it was evicted.
    fn forget(&self, id: u64) -> bool {
        let mut pending = self.lock();
        pending.streams.remove(&id);
        pending.evicted.remove(&id)
    }

    /// The connection was handed over or dropped: its slot is free.
    fn release(&self) {
        self.lock().count -= 1;
        self.slot_freed.notify_all();
    }

    /// Stops the acceptor and cuts off every handshake in progress.
    fn stop(&self) {
        let mut pending = self.lock();
        self.stopped.store(true, Ordering::SeqCst);
        for (_, stream) in pending.streams.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        pending.streams.clear();
        drop(pending);
        self.slot_freed.notify_all();
    }
}

/// The acceptor thread: takes TCP connections while slots are free and starts a handshake
/// thread for each.
fn run_acceptor(
    listener: &TcpListener,
    config: &Arc<ServerConfig>,
    shared: &Arc<Shared>,
    ready: &SyncSender<Ready>,
) {
    let max = config.get_max_pending_handshakes();
    while shared.wait_for_slot(max) {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if is_transient(&error) => continue,
            Err(error) => {
                if shared.is_stopped() || ready.send(Err(Error::Io(error))).is_err() {
                    return;
                }
                thread::sleep(ERROR_BACKOFF);
                continue;
            }
        };
        if shared.is_stopped() {
            return;
        }
        shared.evict_oldest(max);
        let id = shared.register(&stream);
        let (config, task_shared, ready) = (Arc::clone(config), Arc::clone(shared), ready.clone());
        let spawned = thread::Builder::new()
            .name("wsproto-handshake".into())
            .spawn(move || {
                // Small messages should not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                let result = accept_tcp(stream, &config, || task_shared.claim(id));
                let result = match (task_shared.forget(id), result) {
                    (true, Err(_)) => Err(Error::evicted_handshake()),
                    (_, result) => result,
                };
                match result {
                    // If the server is gone, the connection is dropped here.
                    Ok(ws) => drop(ready.send(Ok(ws))),
                    Err(error) => {
                        config.report_failed_handshake(Some(peer), &error);
                        task_shared.failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                task_shared.release();
            });
        if spawned.is_err() {
            shared.forget(id);
            shared.failed.fetch_add(1, Ordering::SeqCst);
            shared.release();
        }
    }
}

/// Accept errors that concern one connection only, not the listener.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The error `accept` returns once the acceptor is gone.
fn stopped() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::NotConnected,
        "the server stopped accepting connections",
    ))
}

/// Where to connect to reach our own listener (loopback for an unspecified address).
fn wake_addr(local: SocketAddr) -> SocketAddr {
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match local {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Instant;

    #[test]
    fn the_wake_address_of_a_wildcard_listener_is_loopback() {
        let v4: SocketAddr = "0.0.0.0:9001".parse().unwrap();
        assert_eq!(wake_addr(v4), "127.0.0.1:9001".parse().unwrap());
        let v6: SocketAddr = "[::]:9001".parse().unwrap();
        assert_eq!(wake_addr(v6), "[::1]:9001".parse().unwrap());
        let bound: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(wake_addr(bound), bound);
    }

    #[test]
    fn shutdown_is_prompt_and_cuts_off_pending_handshakes() {
        let server = Server::bind("0.0.0.0:0").unwrap();
        let port = server.local_addr().port();
        let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        silent
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Let the acceptor take it into a handshake (the default timeout is 10 s).
        let started = Instant::now();
        while server.shared.lock().streams.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5));
            thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        assert_eq!(
            server.shutdown(Duration::from_secs(1)),
            0,
            "no connection was open"
        );
        assert_eq!(silent.read(&mut [0; 8]).unwrap_or(0), 0, "cut off");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "not listening"
        );
    }

    #[test]
    fn eviction_passes_a_claimed_handshake_by_and_a_claim_after_eviction_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _clients: Vec<_> = (0..2)
            .map(|_| TcpStream::connect(listener.local_addr().unwrap()).unwrap())
            .collect();
        let (first, _) = listener.accept().unwrap();
        let (second, _) = listener.accept().unwrap();
        let shared = Shared::default();
        let (old, young) = (shared.register(&first), shared.register(&second));
        // Both are old enough to evict; the oldest has its request and claims its slot.
        thread::sleep(EVICT_AFTER);
        assert!(shared.claim(old));
        shared.evict_oldest(2);
        assert!(!shared.forget(old), "the claimed one was passed by");
        assert!(!shared.claim(young), "the next one was evicted instead");
        assert!(shared.forget(young));
    }
}
