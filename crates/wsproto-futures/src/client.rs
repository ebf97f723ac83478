//! The WebSocket type over futures-io streams, and [`client_over`] for a stream you connected
//! yourself. Connecting over TCP is [`wsproto_async::connect_with`] with the runtime's
//! [`Runtime`](wsproto_async::Runtime).

use futures_io::{AsyncRead, AsyncWrite};
use wsproto_async::{ClientConfig, Result};

use crate::io::FuturesIo;

/// A WebSocket over the futures-io stream `S`.
pub type WebSocket<S> = wsproto_async::WebSocket<FuturesIo<S>>;
/// A WebSocket over the runtime's TCP stream `S`, plain or TLS: what `connect_with` and
/// `Server` hand out.
pub type TcpWebSocket<S> = wsproto_async::WebSocket<wsproto_async::MaybeTls<FuturesIo<S>>>;

/// Runs the client handshake for `url` over a futures-io stream you connected yourself (TLS,
/// a proxy tunnel).
pub async fn client_over<S>(stream: S, url: &str, options: ClientConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::client_over(FuturesIo::new(stream), url, options).await
}
