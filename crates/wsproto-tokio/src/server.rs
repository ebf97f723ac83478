//! [`Server`] on tokio (the one generic server of `wsproto-async`), and [`accept_stream`] for
//! a stream you accepted yourself.

use tokio::io::{AsyncRead, AsyncWrite};
use wsproto_async::ServerConfig;

use crate::{Result, Tokio, TokioIo, WebSocket};

/// Runs the server side of the opening handshake on a tokio stream you accepted yourself.
pub async fn accept_stream<S>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::accept_stream(TokioIo::new(stream), config).await
}

/// A WebSocket server on tokio's TCP listener: handshakes in tasks of their own, bounded by
/// the handshake timeout and the pending-handshake cap; pause/resume; graceful shutdown.
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
pub type Server = wsproto_async::Server<Tokio>;
