//! The server side of the opening handshake over any [`Transport`] ([`accept_stream`]), the
//! options an accepting server takes ([`ServerConfig`]), and the HTTP responses it can send
//! instead of upgrading ([`HttpResponse`]). Adapters add listening and accepting on top.

use std::sync::Arc;
use std::time::Duration;

use wsproto_core::handshake::{Accept, HandshakeError, Request, ServerHandshake};
use wsproto_core::{BytesMut, Config, Connection, Extension, Limits};

use crate::error::{Error, Result};
use crate::runtime::{Transport, read_some, with_deadline, write_all};
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

    /// Queues this response on a server handshake in place of the upgrade.
    pub fn queue_on(&self, machine: &mut ServerHandshake) -> Result<(), HandshakeError> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        machine.respond(self.status, &headers, &self.body)
    }
}

/// What [`ServerConfig::decide`] settled for an accepted request, for
/// [`ServerConfig::upgrade`] to carry out.
pub struct Upgrade {
    accept: Accept,
    extension: Option<Box<dyn Extension>>,
    info: HandshakeInfo,
}

impl Upgrade {
    /// The subprotocol that will be selected, if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        self.accept.selected_subprotocol()
    }

    /// Whether an extension (permessage-deflate) will be enabled.
    #[must_use]
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("accept", &self.accept)
            .field("extension", &self.extension.is_some())
            .finish()
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
    keep_headers: bool,
    #[cfg(feature = "deflate")]
    deflate: Option<wsproto_core::deflate::DeflateConfig>,
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
            keep_headers: false,
            #[cfg(feature = "deflate")]
            deflate: None,
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

impl ServerConfig {
    /// The behaviour accepted connections get.
    #[must_use]
    pub fn get_config(&self) -> &Config {
        &self.config
    }

    /// The limits accepted connections and handshakes get.
    #[must_use]
    pub fn get_limits(&self) -> &Limits {
        &self.limits
    }

    /// Keeps the client's request headers after the upgrade, for
    /// [`WebSocket::handshake`](crate::WebSocket::handshake)`().headers()`. Default off: they
    /// would cost a few hundred bytes for the connection's whole life, and
    /// [`check_request`](Self::check_request) sees every header either way.
    #[must_use]
    pub fn keep_request_headers(mut self, keep: bool) -> Self {
        self.keep_headers = keep;
        self
    }

    /// Accepts permessage-deflate (RFC 7692) from clients that offer it, with these
    /// parameters; `None` (default) declines compression. Each compressed connection keeps
    /// zlib state (about 300 KB with the default 15-bit window and context takeover).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<wsproto_core::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// The answer to a valid upgrade request: the request check's refusal, or the
    /// [`Upgrade`] to perform — subprotocol negotiated in the client's order of preference,
    /// the server name, and permessage-deflate if configured and offered. Every adapter,
    /// async or blocking, decides through this one function.
    pub fn decide(&self, request: &Request) -> Result<Upgrade, HttpResponse> {
        if let Some(check) = &self.check {
            check(request)?;
        }
        let supported: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let mut accept = Accept::new().negotiate_subprotocol(request, &supported);
        if let Some(name) = &self.server_name {
            accept = accept.server_name(name);
        }
        let mut extension: Option<Box<dyn Extension>> = None;
        #[cfg(feature = "deflate")]
        if let Some((answer, deflate)) = self
            .deflate
            .as_ref()
            .and_then(|d| d.negotiate(request.extensions()))
        {
            accept = accept.extension(&answer);
            extension = Some(Box::new(deflate));
        }
        let headers = if self.keep_headers {
            request.headers().to_vec()
        } else {
            Vec::new()
        };
        let info = HandshakeInfo::new(
            accept.selected_subprotocol().map(str::to_owned),
            headers,
            Some(request.path().to_owned()),
        );
        Ok(Upgrade {
            accept,
            extension,
            info,
        })
    }

    /// Performs `upgrade` on the handshake that produced its request: queues the 101 in the
    /// new connection ahead of any frame, feeds it the leftover bytes and installs the
    /// negotiated extension.
    pub fn upgrade(
        &self,
        machine: ServerHandshake,
        upgrade: Upgrade,
        now: wsproto_core::Instant,
    ) -> Result<(Connection, HandshakeInfo)> {
        let Upgrade {
            accept,
            extension,
            info,
        } = upgrade;
        let conn = machine.accept_into_connection(
            accept,
            self.config.clone(),
            self.limits.clone(),
            now,
        )?;
        let conn = match extension {
            Some(extension) => conn.with_extension(extension),
            None => conn,
        };
        Ok((conn, info))
    }

    /// The page configured with [`plain_http`](Self::plain_http) for a plain `GET` of `path`.
    #[must_use]
    pub fn page_for(&self, path: &str) -> Option<HttpResponse> {
        self.plain_http.as_ref().and_then(|page| page(path))
    }

    /// See [`ServerConfig::handshake_timeout`].
    #[must_use]
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// See [`ServerConfig::max_pending_handshakes`].
    #[must_use]
    pub fn get_max_pending_handshakes(&self) -> usize {
        self.max_pending
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
pub async fn accept_stream<T: Transport>(stream: T, config: &ServerConfig) -> Result<WebSocket<T>> {
    let deadline = std::time::Instant::now() + config.handshake_timeout;
    match with_deadline::<T::Timer, _>(deadline, handshake(stream, config)).await {
        Some(result) => result,
        None => Err(Error::Handshake(HandshakeError::Timeout)),
    }
}

async fn handshake<T: Transport>(mut stream: T, config: &ServerConfig) -> Result<WebSocket<T>> {
    let origin = std::time::Instant::now();
    let mut machine = ServerHandshake::new(&config.limits, wsproto_core::Instant::ZERO, None);
    let mut buf = BytesMut::new();
    let request = loop {
        let n = read_some(&mut stream, &mut buf).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(Error::Handshake(HandshakeError::Malformed(
                "connection closed during the handshake",
            )));
        }
        match machine.handle_input(&buf) {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(error) => {
                if let HandshakeError::NotWebSocket { path } = &error
                    && let Some(page) = config.page_for(path)
                {
                    page.queue_on(&mut machine)?;
                }
                finish_refusal(&mut stream, &machine).await;
                return Err(Error::Handshake(error));
            }
        }
    };
    let upgrade = match config.decide(&request) {
        Ok(upgrade) => upgrade,
        Err(refusal) => {
            refusal.queue_on(&mut machine)?;
            finish_refusal(&mut stream, &machine).await;
            return Err(Error::Refused(refusal.status));
        }
    };
    let now = wsproto_core::Instant::from_duration(origin.elapsed());
    let (conn, info) = config.upgrade(machine, upgrade, now)?;
    // The 101 is queued in the connection ahead of any frame; write it now so the client
    // can start even if the application only sends later.
    let mut ws = WebSocket::from_parts(stream, conn, origin, &[], info);
    ws.flush().await?;
    Ok(ws)
}

/// Writes the queued error response and closes the stream; failures are moot at this point.
async fn finish_refusal<T: Transport>(stream: &mut T, machine: &ServerHandshake) {
    if write_all(stream, machine.transmit()).await.is_ok() {
        let _ = std::future::poll_fn(|cx| stream.poll_shutdown(cx)).await;
    }
}
