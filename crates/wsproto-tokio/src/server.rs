//! Accepting connections: [`Server`] (bind, accept, pause, graceful shutdown) and
//! [`accept_stream`] for a stream accepted elsewhere.
//!
//! Handshakes run in their own tasks, so one slow or silent client never delays the others;
//! each must finish within the handshake timeout (10 s by default, as Qt's
//! `QWebSocketServer`) or its socket is dropped, and at most `max_pending_handshakes` run at
//! once (further TCP connections wait in the kernel's backlog).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use wsproto_core::handshake::{Accept, HandshakeError, Request, ServerHandshake};
use wsproto_core::{Config, Connection, Limits};

use crate::error::{Error, Result};
use crate::websocket::{HandshakeInfo, WebSocket};

/// An HTTP response the server sends instead of upgrading: a refusal from the request check,
/// or a page for a plain `GET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` (200..=599) and an empty body.
    #[must_use]
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (`Content-Type` replaces the default `text/plain`).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }
}

/// The refusal a request check returns.
pub type Reject = HttpResponse;

type RequestCheck = Arc<dyn Fn(&Request) -> Result<(), HttpResponse> + Send + Sync>;
type PlainHttp = Arc<dyn Fn(&str) -> Option<HttpResponse> + Send + Sync>;

/// How a server accepts connections.
#[derive(Clone)]
pub struct ServerConfig {
    config: Config,
    limits: Limits,
    subprotocols: Vec<String>,
    server_name: Option<String>,
    handshake_timeout: Duration,
    max_pending: usize,
    check: Option<RequestCheck>,
    plain_http: Option<PlainHttp>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: Limits::default(),
            subprotocols: Vec::new(),
            server_name: None,
            handshake_timeout: Duration::from_secs(10),
            max_pending: 1024,
            check: None,
            plain_http: None,
        }
    }
}

impl ServerConfig {
    /// The engine's behaviour for accepted connections. Default [`Config::default`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Limits for accepted connections and their handshakes. Default [`Limits::default`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a supported subprotocol. The first protocol in the *client's* order of preference
    /// that is supported is selected; none is selected if nothing matches.
    #[must_use]
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocols.push(protocol.to_owned());
        self
    }

    /// The `Server` header of the 101 response (Qt's `serverName`). Default: none.
    #[must_use]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// How long a client has to complete its handshake before its socket is dropped.
    /// Default 10 s. Bounds what a silent or trickling client can hold.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Most handshakes in progress at once (Qt's `maxPendingConnections`). Default 1024.
    #[must_use]
    pub fn max_pending_handshakes(mut self, count: usize) -> Self {
        self.max_pending = count.max(1);
        self
    }

    /// Inspects each valid upgrade request (path, `Origin`, headers...) before it is accepted;
    /// returning `Err(response)` refuses it with that response (e.g. 403 for a foreign origin).
    #[must_use]
    pub fn check_request(
        mut self,
        check: impl Fn(&Request) -> Result<(), HttpResponse> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Answers plain HTTP `GET` requests (no `Upgrade` header) for a path, e.g. with a page;
    /// `None` keeps the default 426 Upgrade Required.
    #[must_use]
    pub fn plain_http(
        mut self,
        handler: impl Fn(&str) -> Option<HttpResponse> + Send + Sync + 'static,
    ) -> Self {
        self.plain_http = Some(Arc::new(handler));
        self
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("subprotocols", &self.subprotocols)
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

/// Runs the server side of the opening handshake on a stream you accepted yourself, within
/// the configured handshake timeout.
///
/// On a refused or invalid request the HTTP response is written and the error returned:
/// [`Error::Handshake`] (e.g. [`HandshakeError::Timeout`]) or [`Error::Refused`] with the
/// status the request check chose.
pub async fn accept_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>> {
    match tokio::time::timeout(config.handshake_timeout, handshake(stream, config)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Handshake(HandshakeError::Timeout)),
    }
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>> {
    let origin = tokio::time::Instant::now();
    let mut machine = ServerHandshake::new(&config.limits, wsproto_core::Instant::ZERO, None);
    let mut buf = vec![0; 4096];
    let request = loop {
        let n = stream.read(&mut buf).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(Error::Handshake(HandshakeError::Malformed(
                "connection closed during the handshake",
            )));
        }
        match machine.handle_input(&buf[..n]) {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(error) => {
                if let HandshakeError::NotWebSocket { path } = &error
                    && let Some(response) = config.plain_http.as_ref().and_then(|page| page(path))
                {
                    respond(&mut machine, &response)?;
                }
                finish_refusal(&mut stream, &mut machine).await;
                return Err(Error::Handshake(error));
            }
        }
    };
    if let Some(check) = &config.check
        && let Err(response) = check(&request)
    {
        respond(&mut machine, &response)?;
        finish_refusal(&mut stream, &mut machine).await;
        return Err(Error::Refused(response.status));
    }
    let supported: Vec<&str> = config.subprotocols.iter().map(String::as_str).collect();
    let mut accept = Accept::new().negotiate_subprotocol(&request, &supported);
    if let Some(name) = &config.server_name {
        accept = accept.server_name(name);
    }
    let leftover = machine.accept(accept)?;
    stream
        .write_all(machine.transmit())
        .await
        .map_err(Error::Io)?;
    let info = HandshakeInfo {
        subprotocol: request
            .subprotocols()
            .find(|p| supported.contains(p))
            .map(str::to_owned),
        headers: request.headers().to_vec(),
        path: Some(request.path().to_owned()),
    };
    let now = wsproto_core::Instant::from_duration(origin.elapsed());
    let conn = Connection::server(config.config.clone(), config.limits.clone(), now);
    Ok(WebSocket::from_parts(stream, conn, origin, &leftover, info))
}

fn respond(machine: &mut ServerHandshake, response: &HttpResponse) -> Result<()> {
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    machine.respond(response.status, &headers, &response.body)?;
    Ok(())
}

/// Writes the queued error response and closes the stream; failures are moot at this point.
async fn finish_refusal<S: AsyncWrite + Unpin>(stream: &mut S, machine: &mut ServerHandshake) {
    if stream.write_all(machine.transmit()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
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
    shutdown: watch::Sender<bool>,
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
            shutdown: watch::channel(false).0,
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
            let can_accept = self.is_accepting() && self.handshakes.len() < self.config.max_pending;
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
                    let signal = self.shutdown.subscribe();
                    self.handshakes.spawn(async move {
                        let mut ws = accept_stream(stream, &config).await?;
                        ws.driver.set_shutdown(signal);
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
        // No receiver means no open connection; the send result only says that.
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, self.shutdown.closed()).await;
        self.shutdown.receiver_count()
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
