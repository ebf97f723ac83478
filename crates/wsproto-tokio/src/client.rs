//! Opening a client connection over TCP: [`connect`] and [`connect_with`]; [`client_over`]
//! runs the handshake on a transport you connected yourself (TLS, a proxy tunnel).

use tokio::io::{AsyncRead, AsyncWrite};
use wsproto_async::ClientConfig;

use crate::{Result, TcpWebSocket, Tokio, TokioIo, WebSocket};

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
pub async fn connect(url: &str) -> Result<TcpWebSocket> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to a `ws://` URL with `options`; the handshake timeout covers DNS, TCP and the
/// handshake together.
///
/// Errors tell the stages apart: [`Error::Connect`](crate::Error::Connect) for DNS and TCP,
/// [`Error::Handshake`](crate::Error::Handshake) for a refusal (with the HTTP status), a
/// malformed answer or a timeout.
pub async fn connect_with(url: &str, options: ClientConfig) -> Result<TcpWebSocket> {
    wsproto_async::connect_with::<Tokio>(url, options).await
}

/// Runs the client handshake for `url` over a tokio stream you connected yourself.
pub async fn client_over<S>(stream: S, url: &str, options: ClientConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::client_over(TokioIo::new(stream), url, options).await
}
