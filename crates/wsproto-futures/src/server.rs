//! [`accept_stream`] for a futures-io stream accepted elsewhere. The server itself is
//! [`wsproto_async::Server`], generic over the runtime.

use futures_io::{AsyncRead, AsyncWrite};
use wsproto_async::{Result, ServerConfig};

use crate::client::WebSocket;
use crate::io::FuturesIo;

/// Runs the server side of the opening handshake on a futures-io stream accepted elsewhere.
pub async fn accept_stream<S>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::accept_stream(FuturesIo::new(stream), config).await
}
