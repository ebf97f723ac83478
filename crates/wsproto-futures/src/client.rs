//! Client connections over any futures-io runtime: the runtime crate supplies how to open a
//! TCP stream, this module does the rest (URL checks, the deadline over connect + handshake).

use std::io;

use futures_io::{AsyncRead, AsyncWrite};
use wsproto_async::{ClientConfig, ClientOpening, Deadline, Error, Result, with_deadline};

use crate::io::{AsyncIoTimer, FuturesIo};

/// A WebSocket over the futures-io stream `S`.
pub type WebSocket<S> = wsproto_async::WebSocket<FuturesIo<S>>;

/// Connects to a `ws://` URL: `open_tcp(host, port)` opens the stream (the runtime's
/// `TcpStream::connect`), then the handshake runs; the handshake timeout covers both.
///
/// Errors tell the stages apart: [`Error::Connect`] for DNS and TCP, [`Error::Handshake`] for
/// a refusal, a malformed answer or a timeout, [`Error::TlsUnsupported`] for `wss://`.
pub async fn connect_with<S, F, Fut>(
    url: &str,
    options: ClientConfig,
    open_tcp: F,
) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(String, u16) -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let opening = ClientOpening::new(url, options)?;
    if opening.is_secure() {
        return Err(Error::TlsUnsupported);
    }
    let connecting = open_tcp(opening.host().to_owned(), opening.port());
    let stream = match with_deadline::<AsyncIoTimer, _>(opening.deadline().at(), connecting).await {
        Some(Ok(stream)) => stream,
        Some(Err(error)) => return Err(Error::Connect(error)),
        None => return Err(Deadline::error()),
    };
    wsproto_async::open_client(FuturesIo::new(stream), opening).await
}

/// Runs the client handshake for `url` over a futures-io stream you connected yourself (TLS,
/// a proxy tunnel).
pub async fn client_over<S>(stream: S, url: &str, options: ClientConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::client_over(FuturesIo::new(stream), url, options).await
}
