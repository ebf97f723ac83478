//! The client side of the opening handshake over any [`Transport`], and the options a client
//! connection takes ([`ClientConfig`]). Adapters add TCP connection on top.

use std::time::Duration;

use rand_core::RngCore;
use wsproto_core::handshake::{ClientAccepted, ClientHandshake, ClientRequest, HandshakeError};
use wsproto_core::{BytesMut, Config, Connection, Limits};

use crate::error::{Error, Result};
use crate::rng::{mask_rng, os_rng};
use crate::runtime::{Transport, read_some, with_deadline, write_all};
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
    #[cfg(feature = "deflate")]
    deflate: Option<wsproto_core::deflate::DeflateConfig>,
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
            #[cfg(feature = "deflate")]
            deflate: None,
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

/// Runs the client handshake for `url` over a transport you connected yourself (TLS, a
/// proxy's `CONNECT` tunnel, ...), within the handshake timeout. The URL's scheme only decides
/// the default port in `Host`.
pub async fn client_over<T: Transport>(
    stream: T,
    url: &str,
    options: ClientConfig,
) -> Result<WebSocket<T>> {
    let request = options.request(url)?;
    let deadline = std::time::Instant::now() + options.handshake_timeout;
    match with_deadline::<T::Timer, _>(deadline, handshake(stream, request, options)).await {
        Some(result) => result,
        None => Err(Error::Handshake(HandshakeError::Timeout)),
    }
}

async fn handshake<T: Transport>(
    mut stream: T,
    request: ClientRequest,
    options: ClientConfig,
) -> Result<WebSocket<T>> {
    let origin = std::time::Instant::now();
    let path = request.resource().to_owned();
    let mut machine = ClientHandshake::new(
        request,
        &options.limits,
        &mut os_rng(),
        wsproto_core::Instant::ZERO,
        None,
    )?;
    write_all(&mut stream, machine.transmit())
        .await
        .map_err(Error::Io)?;
    let sent = machine.transmit().len();
    machine.advance_transmit(sent);
    let mut buf = BytesMut::new();
    let accepted = loop {
        let n = read_some(&mut stream, &mut buf).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(Error::Handshake(HandshakeError::Malformed(
                "connection closed before the handshake response was complete",
            )));
        }
        if let Some(accepted) = machine.handle_input(&buf)? {
            break accepted;
        }
    };
    let now = wsproto_core::Instant::from_duration(origin.elapsed());
    let (conn, info) = options.into_connection(accepted, path, now)?;
    Ok(WebSocket::from_parts(stream, conn, origin, &[], info))
}
