//! [`Server`] for futures-io runtimes: generic over the runtime's TCP listener.
//!
//! Without a spawn API common to smol and async-std, handshakes run concurrently *inside*
//! [`Server::accept`] (a `FuturesUnordered`), so they progress while the application waits
//! for its next connection — the usual accept loop. Each must finish within the handshake
//! timeout or its socket is dropped; at most `max_pending_handshakes` run at once.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::stream::{FuturesUnordered, StreamExt};
use wsproto_async::{Error, Result, ServerConfig, ShutdownSignal, with_deadline};

use crate::client::WebSocket;
use crate::io::{AsyncIoTimer, FuturesIo};

/// A runtime's TCP listener, as the generic [`Server`] needs it.
pub trait Listener: Sized + Send + Sync + 'static {
    /// The accepted stream type.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Binds to `addr`.
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self>> + Send;

    /// Accepts the next TCP connection (cancel-safe), with Nagle's algorithm off.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

type Handshake<S> = Pin<Box<dyn Future<Output = Result<WebSocket<S>>> + Send>>;

/// A WebSocket server on a futures-io runtime's TCP listener `L`.
pub struct Server<L: Listener> {
    listener: L,
    local_addr: SocketAddr,
    config: ServerConfig,
    handshakes: FuturesUnordered<Handshake<L::Stream>>,
    paused: AtomicBool,
    resume: Mutex<Option<Waker>>,
    shutdown: ShutdownSignal,
    failed_handshakes: u64,
}

// Transient: lives on the stack for one turn of the accept loop.
#[allow(clippy::large_enum_variant)]
enum Step<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    Handshake(Result<WebSocket<S>>),
    Accepted(io::Result<S>),
    Resumed,
}

impl<L: Listener> Server<L> {
    /// Listens on `addr` with the default configuration (port 0 picks a free port).
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<Self> {
        Self::bind_with(addr, ServerConfig::default()).await
    }

    /// Listens on `addr` with `config`.
    pub async fn bind_with(addr: impl ToSocketAddrs, config: ServerConfig) -> Result<Self> {
        let mut last_error = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
        for addr in addr.to_socket_addrs().map_err(Error::Io)? {
            match L::bind(addr).await {
                Ok(listener) => return Self::from_listener(listener, config),
                Err(error) => last_error = error,
            }
        }
        Err(Error::Io(last_error))
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: L, config: ServerConfig) -> Result<Self> {
        let local_addr = listener.local_addr().map_err(Error::Io)?;
        Ok(Self {
            listener,
            local_addr,
            config,
            handshakes: FuturesUnordered::new(),
            paused: AtomicBool::new(false),
            resume: Mutex::new(None),
            shutdown: ShutdownSignal::new(),
            failed_handshakes: 0,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The `ws://host:port/` URL clients connect to.
    #[must_use]
    pub fn url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// Handshakes that failed or were refused so far.
    #[must_use]
    pub fn failed_handshakes(&self) -> u64 {
        self.failed_handshakes
    }

    /// Stops taking new TCP connections (they wait in the backlog).
    pub fn pause_accepting(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Takes new TCP connections again.
    pub fn resume_accepting(&self) {
        self.paused.store(false, Ordering::SeqCst);
        let waker = self.resume.lock().ok().and_then(|mut slot| slot.take());
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether new TCP connections are being taken.
    #[must_use]
    pub fn is_accepting(&self) -> bool {
        !self.paused.load(Ordering::SeqCst)
    }

    /// The next connection whose handshake succeeded; failed handshakes are counted and
    /// skipped, only a failure of the listener itself is returned. Cancel-safe.
    pub async fn accept(&mut self) -> Result<WebSocket<L::Stream>> {
        loop {
            let can_accept = self.is_accepting()
                && self.handshakes.len() < self.config.get_max_pending_handshakes();
            let step = {
                let listener = &self.listener;
                let mut accepting = pin!(async move {
                    if can_accept {
                        listener.accept().await
                    } else {
                        std::future::pending().await
                    }
                });
                let (handshakes, paused, resume) =
                    (&mut self.handshakes, &self.paused, &self.resume);
                poll_fn(|cx| {
                    if let Poll::Ready(Some(done)) = handshakes.poll_next_unpin(cx) {
                        return Poll::Ready(Step::Handshake(done));
                    }
                    if !can_accept && paused.load(Ordering::SeqCst) {
                        if let Ok(mut slot) = resume.lock() {
                            *slot = Some(cx.waker().clone());
                        }
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
                Step::Accepted(Ok(stream)) => {
                    let config = self.config.clone();
                    let watch = self.shutdown.watch();
                    self.handshakes.push(Box::pin(async move {
                        let mut ws =
                            wsproto_async::accept_stream(FuturesIo::new(stream), &config).await?;
                        ws.attach_shutdown(watch);
                        Ok(ws)
                    }));
                }
                Step::Accepted(Err(error)) => return Err(Error::Io(error)),
                Step::Resumed => {}
            }
        }
    }

    /// Graceful shutdown: stops accepting, abandons handshakes in progress, asks every open
    /// connection it accepted to close with 1001 (going away), and waits up to `grace` for
    /// them to finish. Returns how many were still open at the deadline.
    ///
    /// Connections close as their owners keep receiving on them.
    pub async fn shutdown(self, grace: Duration) -> usize {
        let Self {
            listener,
            handshakes,
            shutdown,
            ..
        } = self;
        drop(handshakes);
        drop(listener);
        shutdown.trigger();
        let drained = poll_fn(|cx| shutdown.poll_drained(cx));
        let _ = with_deadline::<AsyncIoTimer, _>(std::time::Instant::now() + grace, drained).await;
        shutdown.live()
    }
}

/// Runs the server side of the opening handshake on a futures-io stream accepted elsewhere.
pub async fn accept_stream<S>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::accept_stream(FuturesIo::new(stream), config).await
}

impl<L: Listener> std::fmt::Debug for Server<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("pending_handshakes", &self.handshakes.len())
            .field("accepting", &self.is_accepting())
            .finish_non_exhaustive()
    }
}
