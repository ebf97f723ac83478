//! [`Server`]: listen on TCP, accept WebSocket connections, pause, shut down gracefully — once,
//! for every runtime.
//!
//! Each handshake runs in a task of its own (the runtime's `spawn`), so one slow or silent
//! client never delays the others and handshakes progress whether or not the application is
//! inside [`Server::accept`] at the moment. Each must finish within the handshake timeout (10 s
//! by default, as Qt's `QWebSocketServer`) or its socket is dropped, and at most
//! `max_pending_handshakes` are outstanding at once: at the cap a new connection evicts the
//! oldest handshake still running once it has run for [`EVICT_AFTER`](wsproto_setup::EVICT_AFTER)
//! (a silent or trickling client, by construction), so a flood of those cannot make honest
//! clients wait; until then, and while finished handshakes the application has not taken
//! fill the cap, further TCP connections wait in the kernel's backlog. Each failed handshake is counted and handed to the configured
//! [`ServerConfig::on_failed_handshake`] hook with the client's address.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use wsproto_setup::{Error, Result, ServerConfig, ShutdownSignal};

use crate::accept::accept_tcp;
use crate::inbox::Inbox;
use crate::maybe_tls::MaybeTls;
use crate::runtime::{Runtime, SocketAddrs, Timer, TimerOf, Transport, with_deadline};
use crate::websocket::WebSocket;

/// A WebSocket server on runtime `R`'s TCP listener. Each adapter names it for its runtime
/// (`wsproto_tokio::Server`, `wsproto_smol::Server`, ...).
pub struct Server<R: Runtime> {
    listener: R::Listener,
    local_addr: SocketAddr,
    config: Arc<ServerConfig>,
    inbox: Arc<Inbox<MaybeTls<R::Tcp>>>,
    failed_handshakes: u64,
    paused: AtomicBool,
    resume: Mutex<Option<Waker>>,
    /// Reaches every connection this server accepted (the 1001 close).
    shutdown: ShutdownSignal,
    /// Reaches every handshake still in progress (abandon it).
    abandon: ShutdownSignal,
}

/// What one turn of the accept loop brought.
// Transient: lives on the stack for one turn of the accept loop.
#[allow(clippy::large_enum_variant)]
enum Step<T: Transport> {
    Handshake(Result<WebSocket<MaybeTls<T>>>),
    Accepted(io::Result<T>),
    Resumed,
}

impl<R: Runtime> Server<R> {
    /// Listens on `addr` with the default configuration (port 0 picks a free port).
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<Self> {
        Self::bind_with(addr, ServerConfig::default()).await
    }

    /// Listens on `addr` with `config`.
    pub async fn bind_with(addr: impl ToSocketAddrs, config: ServerConfig) -> Result<Self> {
        let mut last_error = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
        for addr in addr.to_socket_addrs().map_err(Error::Io)? {
            match R::bind(addr, config.get_backlog()).await {
                Ok(listener) => return Self::from_listener(listener, config),
                Err(error) => last_error = error,
            }
        }
        Err(Error::Io(last_error))
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: R::Listener, config: ServerConfig) -> Result<Self> {
        let local_addr = R::local_addr(&listener).map_err(Error::Io)?;
        Ok(Self {
            listener,
            local_addr,
            config: Arc::new(config),
            inbox: Arc::new(Inbox::new()),
            failed_handshakes: 0,
            paused: AtomicBool::new(false),
            resume: Mutex::new(None),
            shutdown: ShutdownSignal::new(),
            abandon: ShutdownSignal::new(),
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
        format!("{}://{}/", self.config.scheme(), self.local_addr)
    }

    /// Handshakes that failed or were refused so far (bad requests, timeouts, refusals), as
    /// far as [`accept`](Self::accept) has seen them.
    #[must_use]
    pub fn failed_handshakes(&self) -> u64 {
        self.failed_handshakes
    }

    /// Stops taking new TCP connections (they wait in the backlog); handshakes already under
    /// way still complete.
    pub fn pause_accepting(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Takes new TCP connections again.
    pub fn resume_accepting(&self) {
        self.paused.store(false, Ordering::SeqCst);
        let waker = self
            .resume
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether new TCP connections are being taken.
    #[must_use]
    pub fn is_accepting(&self) -> bool {
        !self.paused.load(Ordering::SeqCst)
    }

    /// The next connection whose handshake succeeded. Failed handshakes are counted
    /// ([`failed_handshakes`](Self::failed_handshakes)) and skipped; only a failure of the
    /// listener itself is returned. Cancel-safe.
    pub async fn accept(&mut self) -> Result<WebSocket<MaybeTls<R::Tcp>>> {
        loop {
            // At the pending-handshake cap a new connection is still taken once the oldest
            // running handshake has run for EVICT_AFTER: it makes room (`start_handshake`).
            // Until then, and while finished handshakes the application has not taken fill
            // the cap, new connections wait in the backlog; a timer wakes this loop when the
            // oldest becomes evictable.
            let now = std::time::Instant::now();
            let at_cap = self.inbox.outstanding() >= self.config.get_max_pending_handshakes();
            let evictable_at = at_cap.then(|| self.inbox.evictable_at()).flatten();
            let can_accept =
                self.is_accepting() && (!at_cap || evictable_at.is_some_and(|at| at <= now));
            let mut recheck = evictable_at
                .filter(|_| !can_accept && self.is_accepting())
                .map(TimerOf::<R>::at);
            let step = {
                let listener = &self.listener;
                let mut accepting = pin!(async move {
                    if can_accept {
                        R::accept(listener).await
                    } else {
                        std::future::pending().await
                    }
                });
                let (inbox, paused, resume) = (&self.inbox, &self.paused, &self.resume);
                poll_fn(|cx| {
                    if let Poll::Ready(done) = inbox.poll_next(cx) {
                        return Poll::Ready(Step::Handshake(done));
                    }
                    if let Some(timer) = recheck.as_mut()
                        && timer.poll_elapsed(cx).is_ready()
                    {
                        return Poll::Ready(Step::Resumed);
                    }
                    if !can_accept && paused.load(Ordering::SeqCst) {
                        *resume.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(cx.waker().clone());
                        if !paused.load(Ordering::SeqCst) {
                            return Poll::Ready(Step::Resumed);
                        }
                    }
                    accepting.as_mut().poll(cx).map(Step::Accepted)
                })
                .await
            };
            match step {
                Step::Handshake(Ok(ws)) => return Ok(ws),
                Step::Handshake(Err(_)) => self.failed_handshakes += 1,
                Step::Accepted(Ok(stream)) => self.start_handshake(stream),
                Step::Accepted(Err(error)) => return Err(Error::Io(error)),
                Step::Resumed => {}
            }
        }
    }

    /// Runs the handshake of `stream` in a task of its own; its outcome lands in the inbox,
    /// and a failure also goes to [`ServerConfig::report_failed_handshake`].
    fn start_handshake(&self, stream: R::Tcp) {
        let config = Arc::clone(&self.config);
        let inbox = Arc::clone(&self.inbox);
        let watch = self.shutdown.watch();
        let mut abandoned = self.abandon.watch();
        let peer = stream.peer_addr().ok();
        if self.inbox.outstanding() >= self.config.get_max_pending_handshakes() {
            self.inbox.evict_oldest(std::time::Instant::now());
        }
        let (id, eviction) = inbox.start();
        R::spawn(async move {
            let mut handshake = pin!(accept_tcp(stream, &config, || inbox.claim(id)));
            let outcome = poll_fn(|cx| {
                if abandoned.poll_triggered(cx).is_ready() {
                    return Poll::Ready(None);
                }
                if eviction.poll_evicted(cx).is_ready() {
                    return Poll::Ready(Some(Err(Error::evicted_handshake())));
                }
                handshake.as_mut().poll(cx).map(Some)
            })
            .await;
            if let Some(Err(error)) = &outcome {
                config.report_failed_handshake(peer, error);
            }
            inbox.finish(
                id,
                outcome.map(|result| {
                    result.map(|mut ws| {
                        ws.attach_shutdown(watch);
                        ws
                    })
                }),
            );
        });
    }

    /// Graceful shutdown: stops accepting, abandons handshakes in progress, asks every open
    /// connection it accepted to close with 1001 (going away), and waits up to `grace` for
    /// them to finish. Returns how many were still open at the deadline.
    ///
    /// Connections close as their owners keep receiving on them (the close handshake runs
    /// inside `recv`/`next_event`).
    pub async fn shutdown(self, grace: Duration) -> usize {
        let connections = self.shutdown.clone();
        // Dropping the server closes the listener and abandons the handshakes.
        drop(self);
        connections.trigger();
        let drained = poll_fn(|cx| connections.poll_drained(cx));
        let deadline = std::time::Instant::now() + grace;
        let _ = with_deadline::<TimerOf<R>, _>(deadline, drained).await;
        connections.live()
    }
}

impl<R: Runtime> Drop for Server<R> {
    fn drop(&mut self) {
        self.abandon.trigger();
        self.inbox.close();
    }
}

impl<R: Runtime> std::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("pending_handshakes", &self.inbox.outstanding())
            .field("accepting", &self.is_accepting())
            .finish_non_exhaustive()
    }
}
