//! [`Server`]: listen on TCP, accept WebSocket connections, pause, shut down gracefully.
//!
//! Handshakes run in their own tasks, so one slow or silent client never delays the others;
//! each must finish within the handshake timeout (10 s by default, as Qt's
//! `QWebSocketServer`) or its socket is dropped, and at most `max_pending_handshakes` run at
//! once (further TCP connections wait in the kernel's backlog).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use wsproto_async::{ServerConfig, ShutdownSignal};

use crate::{Error, Result, TokioIo, WebSocket};

/// Runs the server side of the opening handshake on a tokio stream you accepted yourself.
pub async fn accept_stream<S>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::accept_stream(TokioIo::new(stream), config).await
}

/// A WebSocket server on a TCP listener.
///
/// ```no_run
/// # async fn run() -> Result<(), wsproto_tokio::Error> {
/// use wsproto_tokio::{Server, ServerConfig};
/// let config = ServerConfig::default().subprotocol("chat").server_name("demo");
/// let mut server = Server::bind_with("127.0.0.1:0", config).await?;
/// println!("listening on {}", server.url());
/// let ws = server.accept().await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<ServerConfig>,
    handshakes: JoinSet<Result<WebSocket<TcpStream>>>,
    paused: Arc<AtomicBool>,
    resumed: Arc<Notify>,
    shutdown: ShutdownSignal,
    failed_handshakes: u64,
}

impl Server {
    /// Listens on `addr` with the default configuration (port 0 picks a free port).
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<Self> {
        Self::bind_with(addr, ServerConfig::default()).await
    }

    /// Listens on `addr` with `config`.
    pub async fn bind_with(addr: impl ToSocketAddrs, config: ServerConfig) -> Result<Self> {
        let listener = TcpListener::bind(addr).await.map_err(Error::Io)?;
        Self::from_listener(listener, config)
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener, config: ServerConfig) -> Result<Self> {
        let local_addr = listener.local_addr().map_err(Error::Io)?;
        Ok(Self {
            listener,
            local_addr,
            config: Arc::new(config),
            handshakes: JoinSet::new(),
            paused: Arc::new(AtomicBool::new(false)),
            resumed: Arc::new(Notify::new()),
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

    /// Handshakes that failed or were refused so far (bad requests, timeouts, refusals).
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
        self.resumed.notify_waiters();
    }

    /// Whether new TCP connections are being taken.
    #[must_use]
    pub fn is_accepting(&self) -> bool {
        !self.paused.load(Ordering::SeqCst)
    }

    /// The next connection whose handshake succeeded. Failed handshakes are counted
    /// ([`failed_handshakes`](Self::failed_handshakes)) and skipped; only a failure of the
    /// listener itself is returned. Cancel-safe.
    pub async fn accept(&mut self) -> Result<WebSocket<TcpStream>> {
        loop {
            let can_accept = self.is_accepting()
                && self.handshakes.len() < self.config.get_max_pending_handshakes();
            tokio::select! {
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    match done {
                        Ok(Ok(ws)) => return Ok(ws),
                        Ok(Err(_)) | Err(_) => self.failed_handshakes += 1,
                    }
                }
                accepted = self.listener.accept(), if can_accept => {
                    let (stream, _) = accepted.map_err(Error::Io)?;
                    let _ = stream.set_nodelay(true);
                    let config = Arc::clone(&self.config);
                    let watch = self.shutdown.watch();
                    self.handshakes.spawn(async move {
                        let mut ws = accept_stream(stream, &config).await?;
                        ws.attach_shutdown(watch);
                        Ok(ws)
                    });
                }
                () = self.resumed.notified(), if !self.is_accepting() => {}
            }
        }
    }

    /// Graceful shutdown: stops accepting, abandons handshakes in progress, asks every open
    /// connection it accepted to close with 1001 (going away), and waits up to `grace` for
    /// them to finish. Returns how many were still open at the deadline.
    ///
    /// Connections close as their owners keep receiving on them (the close handshake runs
    /// inside `recv`/`next_event`).
    pub async fn shutdown(mut self, grace: Duration) -> usize {
        self.handshakes.shutdown().await;
        drop(self.listener);
        self.shutdown.trigger();
        let drained = std::future::poll_fn(|cx| self.shutdown.poll_drained(cx));
        let _ = tokio::time::timeout(grace, drained).await;
        self.shutdown.live()
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("pending_handshakes", &self.handshakes.len())
            .field("accepting", &self.is_accepting())
            .finish_non_exhaustive()
    }
}
