//! The options a client connection takes ([`ClientConfig`]) and the client's opening
//! handshake as one sans-IO sequence ([`ClientOpening`]) that every adapter drives.

use std::time::{Duration, Instant};

use rand_core::RngCore;
use wsproto_core::handshake::{ClientAccepted, ClientHandshake, ClientRequest, HandshakeError};
use wsproto_core::proxy::{ProxyKind, Target};
use wsproto_core::{Config, Connection, Limits};

use crate::deadline::Deadline;
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::info::HandshakeInfo;
use crate::proxy::{Proxy, ProxyFailure, ProxyFailureKind, TunnelOpening, authority};
use crate::rng::{mask_rng, os_rng};

/// Options for a client connection. The URL supplies host, port, path and (from its user
/// info) basic-auth credentials; everything else is here.
pub struct ClientConfig {
    config: Config,
    limits: Limits,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    subprotocols: Vec<String>,
    handshake_timeout: Duration,
    rng: Option<Box<dyn RngCore + Send>>,
    #[cfg(feature = "deflate")]
    deflate: Option<wsproto_core::deflate::DeflateConfig>,
    #[cfg(feature = "tls")]
    tls: Option<crate::ClientTls>,
    proxy: Option<Proxy>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: Limits::default(),
            headers: Vec::new(),
            origin: None,
            subprotocols: Vec::new(),
            handshake_timeout: wsproto_core::handshake::DEFAULT_HANDSHAKE_TIMEOUT,
            rng: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            #[cfg(feature = "tls")]
            tls: None,
            proxy: None,
        }
    }
}

impl ClientConfig {
    /// The engine's behaviour: delivery mode, auto-pong, outgoing frame size, close timeout,
    /// keepalive. Default [`Config::default`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Message, frame, header and write-buffer limits. Default [`Limits::default`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a request header (e.g. a cookie or a bearer token). Names the handshake itself
    /// sets (`Sec-WebSocket-*`, `Upgrade`, ...) are refused when connecting.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `Origin` header to send. Default: none.
    #[must_use]
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.to_owned());
        self
    }

    /// Offers a subprotocol; call repeatedly, most preferred first.
    #[must_use]
    pub fn subprotocol(mut self, protocol: &str) -> Self {
        self.subprotocols.push(protocol.to_owned());
        self
    }

    /// How long connecting and the opening handshake may take together. Default 10 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The generator for masking keys (Qt's `setMaskGenerator`). Default: the operating
    /// system's generator. It must be unpredictable to peers (RFC 6455 §10.3).
    #[must_use]
    pub fn mask_rng(mut self, rng: Box<dyn RngCore + Send>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Offers permessage-deflate (RFC 7692) with these parameters; `None` (default) offers
    /// no compression. A compressed connection keeps zlib state (about 300 KB with the
    /// default 15-bit window and context takeover) for its whole life.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<wsproto_core::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// What `wss://` connections trust. Default [`ClientTls::default`](crate::ClientTls):
    /// Mozilla's roots, bundled.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, tls: crate::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Reaches the server through `proxy` (HTTP `CONNECT` or SOCKS5); for `wss://`, TLS runs
    /// inside the tunnel and checks the server's name, not the proxy's. The handshake timeout
    /// covers connecting to the proxy and opening the tunnel too. Default: no proxy (the
    /// environment is read only through [`Proxy::from_env`]).
    #[must_use]
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The proxy connections go through, if any.
    #[must_use]
    pub fn get_proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// Starts the connection once the handshake succeeded: the engine fed with the leftover
    /// bytes, masking with the configured generator, and the extension the server accepted.
    /// Every adapter, async or blocking, finishes a client handshake through this function.
    pub fn into_connection(
        mut self,
        accepted: ClientAccepted,
        path: String,
        now: wsproto_core::Instant,
    ) -> Result<(Connection, HandshakeInfo)> {
        let info = HandshakeInfo::new(
            accepted.subprotocol().map(str::to_owned),
            accepted.headers().to_vec(),
            Some(path),
        );
        #[cfg(feature = "deflate")]
        let extension = match (&self.deflate, accepted.extensions().first()) {
            (Some(deflate), Some(answer)) => {
                Some(deflate.accept_response(answer).map_err(Error::Deflate)?)
            }
            _ => None,
        };
        let rng = self.take_mask_rng();
        let conn = accepted.into_connection(self.config, self.limits, rng, now);
        #[cfg(feature = "deflate")]
        let conn = match extension {
            Some(extension) => conn.with_extension(Box::new(extension)),
            None => conn,
        };
        Ok((conn, info))
    }

    /// The engine behaviour the connection gets.
    #[must_use]
    pub fn get_config(&self) -> &Config {
        &self.config
    }

    /// The limits the connection and its handshake get.
    #[must_use]
    pub fn get_limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes the configured mask generator, or a fresh OS-backed one if none was set.
    pub fn take_mask_rng(&mut self) -> Box<dyn RngCore + Send> {
        self.rng.take().unwrap_or_else(mask_rng)
    }

    /// How long connecting and the opening handshake may take together.
    #[must_use]
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The handshake request for `url` with these options (validated by the handshake).
    pub fn request(&self, url: &str) -> Result<ClientRequest> {
        let mut request = ClientRequest::from_url(url)?;
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(origin) = &self.origin {
            request = request.origin(origin);
        }
        for protocol in &self.subprotocols {
            request = request.subprotocol(protocol);
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &self.deflate {
            request = request.extension(&deflate.client_offer());
        }
        Ok(request)
    }
}

/// The client's opening handshake, from the URL to an open [`Connection`], as one sans-IO
/// sequence: the adapter connects to [`tcp_target`](Self::tcp_target) (or brings its own
/// stream); through a proxy, it drives the [`tunnel`](Self::tunnel); for `wss://` it opens
/// [`tls`](Self::tls) with the target's name; then it drives this opening as an [`Exchange`]
/// (write, read, feed) until the response is complete, and [`finish`](Self::finish)es. It only moves bytes; every rule (what to send, what a valid
/// answer is, what the deadline is, what an early end of stream means) is decided here and in
/// the core's [`ClientHandshake`].
///
/// The deadline ([`ClientConfig::handshake_timeout`]) counts from [`new`](Self::new), so it
/// covers connecting, writing the request and reading the response together.
pub struct ClientOpening {
    machine: ClientHandshake,
    options: ClientConfig,
    accepted: Option<ClientAccepted>,
    path: String,
    host: String,
    port: u16,
    secure: bool,
    deadline: Deadline,
}

/// How a client's opening reaches the server when it goes through a proxy.
impl ClientOpening {
    /// Where to open the TCP connection: the proxy when there is one, else the URL's host and
    /// port.
    #[must_use]
    pub fn tcp_target(&self) -> (&str, u16) {
        match self.options.proxy.as_ref() {
            Some(proxy) => (proxy.url().host(), proxy.url().port()),
            None => (&self.host, self.port),
        }
    }

    /// The error for a failed TCP connect to [`tcp_target`](Self::tcp_target): the proxy is
    /// unreachable ([`Error::Proxy`]), or [`Error::Connect`] without a proxy.
    #[must_use]
    pub fn connect_error(&self, error: std::io::Error) -> Error {
        match self.options.proxy.as_ref() {
            Some(proxy) => self.proxy_failure(proxy, ProxyFailureKind::Unreachable(error)),
            None => Error::Connect(error),
        }
    }

    /// The error for a deadline that passed while connecting to
    /// [`tcp_target`](Self::tcp_target).
    #[must_use]
    pub fn connect_timeout_error(&self) -> Error {
        match self.options.proxy.as_ref() {
            Some(proxy) => self.proxy_failure(proxy, ProxyFailureKind::TimedOut),
            None => Deadline::error(),
        }
    }

    /// The name to resolve locally before the tunnel, for a `socks5://` proxy (which is sent
    /// an address, not a name) and a target given by name; `None` otherwise.
    #[must_use]
    pub fn tunnel_resolve(&self) -> Option<(&str, u16)> {
        let proxy = self.options.proxy.as_ref()?;
        let local_dns = proxy.url().kind() == ProxyKind::Socks5 { remote_dns: false };
        let named = matches!(Target::from_host(&self.host), Target::Name(_));
        (local_dns && named).then_some((self.host.as_str(), self.port))
    }

    /// The error for a failed local resolution of [`tunnel_resolve`](Self::tunnel_resolve)'s
    /// name (no address at all is `NotFound`).
    #[must_use]
    pub fn resolve_error(&self, error: std::io::Error) -> Error {
        match self.options.proxy.as_ref() {
            Some(proxy) => self.proxy_failure(proxy, ProxyFailureKind::Resolve(error)),
            None => Error::Connect(error),
        }
    }

    /// The tunnel to open through the proxy once connected to it, `None` without a proxy.
    /// `resolved` is the address [`tunnel_resolve`](Self::tunnel_resolve) asked for.
    pub fn tunnel(&self, resolved: Option<std::net::IpAddr>) -> Result<Option<TunnelOpening>> {
        let Some(proxy) = self.options.proxy.as_ref() else {
            return Ok(None);
        };
        let target = match resolved {
            Some(ip) => Target::Ip(ip),
            None => Target::from_host(&self.host),
        };
        TunnelOpening::new(
            proxy.url(),
            target,
            &self.host,
            self.port,
            &self.options.limits,
        )
        .map(Some)
    }

    fn proxy_failure(&self, proxy: &Proxy, kind: ProxyFailureKind) -> Error {
        Error::Proxy(ProxyFailure::at(
            proxy.url(),
            &authority(&self.host, self.port),
            kind,
        ))
    }
}

impl ClientOpening {
    /// Starts the handshake for `url` with `options`: validates the URL and the headers and
    /// builds the request (its nonce from the operating system, not from the replaceable
    /// mask generator). The deadline starts now.
    pub fn new(url: &str, options: ClientConfig) -> Result<Self> {
        let deadline = Deadline::start(options.handshake_timeout);
        let request = options.request(url)?;
        let (host, port, secure) = (
            request.host().to_owned(),
            request.port(),
            request.is_secure(),
        );
        let path = request.resource().to_owned();
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "wsproto", host = host.as_str(), port, secure, path = path.as_str(), "connecting");
        let machine = ClientHandshake::new(
            request,
            &options.limits,
            &mut os_rng(),
            wsproto_core::Instant::ZERO,
            None,
        )?;
        Ok(Self {
            machine,
            deadline,
            options,
            accepted: None,
            path,
            host,
            port,
            secure,
        })
    }

    /// The host to connect to, from the URL.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to: the URL's, or 80 (`ws://`) / 443 (`wss://`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL is `wss://`.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// For `wss://`, the rustls config and the server name to open TLS with; `None` for
    /// `ws://`. [`Error::TlsUnsupported`] in builds without the `tls` feature.
    #[cfg(feature = "tls")]
    pub fn tls(
        &self,
    ) -> Result<
        Option<(
            std::sync::Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        )>,
    > {
        if !self.secure {
            return Ok(None);
        }
        let name = crate::ClientTls::server_name(&self.host).map_err(Error::Tls)?;
        let tls = self.options.tls.clone().unwrap_or_default();
        Ok(Some((std::sync::Arc::clone(tls.config()), name)))
    }

    /// [`Error::TlsUnsupported`] for `wss://` in builds without the `tls` feature.
    #[cfg(not(feature = "tls"))]
    pub fn tls(&self) -> Result<Option<std::convert::Infallible>> {
        if self.secure {
            Err(Error::TlsUnsupported)
        } else {
            Ok(None)
        }
    }

    /// When the handshake must be done, and the instant the engine will count from.
    #[must_use]
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// The open connection and what the handshake settled, once
    /// [`handle_input`](Self::handle_input) said the response is complete. Also returns the
    /// instant the engine's clock counts from.
    pub fn finish(self) -> Result<(Connection, HandshakeInfo, Instant)> {
        let Some(accepted) = self.accepted else {
            return Err(Error::Handshake(HandshakeError::InvalidState(
                "the handshake response is not complete yet",
            )));
        };
        let now = self.deadline.engine_now();
        let (conn, info) = self.options.into_connection(accepted, self.path, now)?;
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "wsproto",
            host = self.host.as_str(),
            path = info.path(),
            subprotocol = info.subprotocol(),
            compressed = conn.has_extension(),
            "client handshake accepted"
        );
        Ok((conn, info, self.deadline.origin()))
    }
}

/// The HTTP upgrade: write the request, read until the response is complete.
impl Exchange for ClientOpening {
    fn transmit(&self) -> &[u8] {
        self.machine.transmit()
    }

    fn advance_transmit(&mut self, n: usize) {
        self.machine.advance_transmit(n);
    }

    /// `Ok(true)` once the response is complete and valid (bytes after it are kept for the
    /// connection).
    fn handle_input(&mut self, bytes: &[u8]) -> Result<bool> {
        if self.accepted.is_none() {
            self.accepted = self.machine.handle_input(bytes)?;
        }
        Ok(self.accepted.is_some())
    }

    fn handle_eof(&self) -> Error {
        Error::Handshake(HandshakeError::UnexpectedEof)
    }

    /// With TLS, what rustls said (a server that requires a client certificate says so only
    /// after the TLS handshake, on the first read), naming this opening's host; otherwise
    /// [`Error::Io`].
    fn io_error(&self, error: std::io::Error) -> Error {
        #[cfg(feature = "tls")]
        return Error::from_tls_io(error, Some(&self.host));
        #[cfg(not(feature = "tls"))]
        Error::Io(error)
    }
}

impl std::fmt::Debug for ClientOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOpening")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("complete", &self.accepted.is_some())
            .finish_non_exhaustive()
    }
}
