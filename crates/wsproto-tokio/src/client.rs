//! Opening a client connection: [`connect`] over TCP, or [`client_over`] any transport you
//! connected yourself (TLS, a proxy tunnel, an in-memory pipe).

use std::time::Duration;

use rand_core::RngCore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
use wsproto_core::{Config, Connection, Limits};

use crate::error::{Error, Result};
use crate::rng::{mask_rng, os_rng};
use crate::websocket::{HandshakeInfo, WebSocket};

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
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            config: Config::default(),
            limits: Limits::default(),
            headers: Vec::new(),
            origin: None,
            subprotocols: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            rng: None,
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

    fn request(&self, url: &str) -> Result<ClientRequest> {
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
        Ok(request)
    }
}

/// Connects to a `ws://` URL with default options.
///
/// ```no_run
/// # async fn run() -> Result<(), wsproto_tokio::Error> {
/// let mut ws = wsproto_tokio::connect("ws://127.0.0.1:9001/").await?;
/// ws.send_text("hello").await?;
/// if let Some(reply) = ws.recv().await {
///     println!("{:?}", reply?);
/// }
/// ws.close(wsproto_tokio::CloseCode::NORMAL, "bye").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to a `ws://` URL with `options`.
///
/// Errors tell the stages apart: [`Error::Connect`] for DNS and TCP,
/// [`Error::Handshake`] for a refusal (with the HTTP status), a malformed answer or a timeout.
pub async fn connect_with(url: &str, options: ClientConfig) -> Result<WebSocket<TcpStream>> {
    let request = options.request(url)?;
    if request.is_secure() {
        return Err(Error::TlsUnsupported);
    }
    let deadline = tokio::time::Instant::now() + options.handshake_timeout;
    let host = request.host().to_owned();
    let connecting = TcpStream::connect((host.as_str(), request.port()));
    let stream = match tokio::time::timeout_at(deadline, connecting).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return Err(Error::Connect(error)),
        Err(_) => return Err(Error::Handshake(HandshakeError::Timeout)),
    };
    // Small messages should not wait for Nagle's algorithm; batching is done by the engine.
    stream.set_nodelay(true).map_err(Error::Connect)?;
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    handshake(stream, request, options.handshake_timeout(remaining)).await
}

/// Runs the client handshake for `url` over a transport you connected yourself (TLS, a
/// proxy's `CONNECT` tunnel, ...). The URL's scheme only decides the default port in `Host`.
pub async fn client_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<S>> {
    let request = options.request(url)?;
    handshake(stream, request, options).await
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: ClientRequest,
    options: ClientConfig,
) -> Result<WebSocket<S>> {
    let origin = tokio::time::Instant::now();
    let path = request.resource().to_owned();
    let mut machine = ClientHandshake::new(
        request,
        &options.limits,
        &mut os_rng(),
        wsproto_core::Instant::ZERO,
        None,
    )?;
    let exchange = async {
        stream
            .write_all(machine.transmit())
            .await
            .map_err(Error::Io)?;
        let sent = machine.transmit().len();
        machine.advance_transmit(sent);
        stream.flush().await.map_err(Error::Io)?;
        let mut buf = vec![0; 4096];
        loop {
            let n = stream.read(&mut buf).await.map_err(Error::Io)?;
            if n == 0 {
                return Err(Error::Handshake(HandshakeError::Malformed(
                    "connection closed before the handshake response was complete",
                )));
            }
            if let Some(accepted) = machine.handle_input(&buf[..n])? {
                return Ok(accepted);
            }
        }
    };
    let accepted = match tokio::time::timeout(options.handshake_timeout, exchange).await {
        Ok(result) => result?,
        Err(_) => return Err(Error::Handshake(HandshakeError::Timeout)),
    };
    let info = HandshakeInfo {
        subprotocol: accepted.subprotocol().map(str::to_owned),
        headers: accepted.headers().to_vec(),
        path: Some(path),
    };
    let rng = options.rng.unwrap_or_else(mask_rng);
    let now = wsproto_core::Instant::from_duration(origin.elapsed());
    let conn = Connection::client(options.config, options.limits, rng, now);
    let leftover = accepted.into_leftover();
    Ok(WebSocket::from_parts(stream, conn, origin, &leftover, info))
}
