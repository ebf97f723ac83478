//! # wsproto-async-std
//!
//! WebSocket clients and servers on async-std: async-std's TCP types plugged into [`wsproto_futures`]
//! (the futures-io adapter), which drives the sans-IO engine of `wsproto-core`.
//! The API matches `wsproto-tokio`: [`connect`], [`connect_with`], [`Server::bind`],
//! [`Server::accept`], and the same `WebSocket` methods.
//!
//! async-std is discontinued upstream (its maintainers point to smol); this crate stays a
//! few dozen lines of glue and is tested like the others.
//!
//! ```no_run
//! # fn main() -> Result<(), wsproto_async_std::Error> {
//! async_std::task::block_on(async {
//!     let mut ws = wsproto_async_std::connect("ws://127.0.0.1:9001/").await?;
//!     ws.send_text("hello").await?;
//!     let reply = ws.recv().await.transpose()?;
//!     println!("{reply:?}");
//!     ws.close(wsproto_async_std::CloseCode::NORMAL, "").await
//! })
//! # }
//! ```

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pub use async_std::net::TcpListener;
use futures_io::{AsyncRead, AsyncWrite};
pub use wsproto_futures::prelude::*;
#[cfg(feature = "tls")]
pub use wsproto_futures::rustls;
pub use wsproto_futures::{Events, Handle, LiveConfig};
use wsproto_futures::{FuturesIo, Runtime};
pub use wsproto_futures::{MaybeTls, accept_stream, client_over, from_upgraded};

/// An open WebSocket over an async-std stream (TCP by default).
pub type WebSocket<S = TcpStream> = wsproto_futures::WebSocket<S>;
/// An open WebSocket over TCP, plain (`ws://`) or TLS (`wss://`): what [`connect`] and
/// [`Server::accept`](wsproto_futures::Server::accept) hand out.
pub type TcpWebSocket = wsproto_futures::TcpWebSocket<TcpStream>;
/// A [`WebSocket`] as a byte stream (futures-io `AsyncRead` + `AsyncWrite` + `AsyncBufRead`).
pub type ByteStream<S = TcpStream> = wsproto_futures::ByteStream<S>;
/// A [`TcpWebSocket`] as a byte stream.
pub type TcpByteStream = wsproto_futures::TcpByteStream<TcpStream>;
/// The receiving half of a split [`WebSocket`].
pub type ReadHalf<S = TcpStream> = wsproto_futures::ReadHalf<S>;
/// The sending half of a split [`WebSocket`].
pub type WriteHalf<S = TcpStream> = wsproto_futures::WriteHalf<S>;
/// A WebSocket server on async-std's TCP listener: handshakes in tasks of their own, bounded
/// by the handshake timeout and the pending-handshake cap.
pub type Server = wsproto_futures::Server<AsyncStd>;

/// Connects to a `ws://` URL with default options.
pub async fn connect(url: &str) -> Result<TcpWebSocket> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to a `ws://` URL with `options`; the handshake timeout covers DNS, TCP and the
/// handshake together.
pub async fn connect_with(url: &str, options: ClientConfig) -> Result<TcpWebSocket> {
    wsproto_futures::connect_with::<AsyncStd>(url, options).await
}

/// A client that connects in the background and, with [`LiveConfig::reconnect`], again after
/// failures; see [`wsproto_futures::connect_live`]. To hand an open connection to a
/// background task instead, call `ws.spawn::<AsyncStd>()`.
pub fn connect_live(
    url: &str,
    make_config: impl FnMut() -> ClientConfig + Send + 'static,
    config: &LiveConfig,
) -> (Handle, Events) {
    wsproto_futures::connect_live::<AsyncStd>(url, make_config, config)
}

/// async-std as a wsproto [`Runtime`]: its TCP types (the stream wrapped in [`TcpStream`])
/// and its tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    type Tcp = FuturesIo<TcpStream>;
    type Listener = TcpListener;

    async fn connect(host: String, port: u16) -> io::Result<Self::Tcp> {
        let stream = async_std::net::TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(FuturesIo::new(TcpStream(stream)))
    }

    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        use async_std::net::ToSocketAddrs as _;
        Ok((host.as_str(), port).to_socket_addrs().await?.collect())
    }

    async fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        let listener = wsproto_futures::listen(addr, backlog)?;
        listener.set_nonblocking(true)?;
        Ok(TcpListener::from(listener))
    }

    async fn accept(listener: &TcpListener) -> io::Result<Self::Tcp> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(FuturesIo::new(TcpStream(stream)))
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        async_std::task::spawn(task);
    }
}

/// async-std's TCP stream, with a `poll_close` that really ends the sending direction.
///
/// async-std's own `poll_close` only flushes, so the peer would never see our end of stream
/// after a closing handshake (RFC 6455 §7.1.1 wants the server to close TCP first); this
/// wrapper shuts the write side down, as smol's stream does.
#[derive(Debug)]
pub struct TcpStream(async_std::net::TcpStream);

impl TcpStream {
    /// The async-std stream.
    pub fn get_ref(&self) -> &async_std::net::TcpStream {
        &self.0
    }

    /// Unwraps the async-std stream.
    pub fn into_inner(self) -> async_std::net::TcpStream {
        self.0
    }
}

impl From<async_std::net::TcpStream> for TcpStream {
    fn from(stream: async_std::net::TcpStream) -> Self {
        Self(stream)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Poll::Ready(match self.0.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

impl wsproto_futures::PeerAddrs for TcpStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}
