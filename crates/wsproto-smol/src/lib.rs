//! # wsproto-smol
//!
//! WebSocket clients and servers on smol: smol's TCP types plugged into [`wsproto_futures`]
//! (the futures-io adapter), which drives the sans-IO engine of `wsproto-core`.
//! The API matches `wsproto-tokio`: [`connect`], [`connect_with`], [`Server::bind`],
//! [`Server::accept`], and the same `WebSocket` methods.
//!
//! ```no_run
//! # fn main() -> Result<(), wsproto_smol::Error> {
//! smol::block_on(async {
//!     let mut server = wsproto_smol::Server::bind("127.0.0.1:0").await?;
//!     let url = server.url();
//!     smol::spawn(async move {
//!         while let Ok(mut ws) = server.accept().await {
//!             smol::spawn(async move {
//!                 while let Some(Ok(message)) = ws.recv().await {
//!                     if ws.feed(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             })
//!             .detach();
//!         }
//!     })
//!     .detach();
//!     let mut ws = wsproto_smol::connect(&url).await?;
//!     ws.send_text("hello").await?;
//!     assert_eq!(ws.recv().await.transpose()?, Some(wsproto_smol::Message::text("hello")));
//!     ws.close(wsproto_smol::CloseCode::NORMAL, "").await
//! })
//! # }
//! ```

use std::io;
use std::net::SocketAddr;

pub use smol::net::{TcpListener, TcpStream};
pub use wsproto_futures::prelude::*;
#[cfg(feature = "tls")]
pub use wsproto_futures::rustls;
pub use wsproto_futures::{Events, Handle, LiveConfig};
use wsproto_futures::{FuturesIo, Runtime};
pub use wsproto_futures::{MaybeTls, accept_stream, client_over, from_upgraded};

/// An open WebSocket over a smol stream (TCP by default).
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
/// A WebSocket server on smol's TCP listener: handshakes in tasks of their own (on smol's
/// global executor), bounded by the handshake timeout and the pending-handshake cap.
pub type Server = wsproto_futures::Server<Smol>;

/// Connects to a `ws://` URL with default options.
pub async fn connect(url: &str) -> Result<TcpWebSocket> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to a `ws://` URL with `options`; the handshake timeout covers DNS, TCP and the
/// handshake together.
pub async fn connect_with(url: &str, options: ClientConfig) -> Result<TcpWebSocket> {
    wsproto_futures::connect_with::<Smol>(url, options).await
}

/// A client that connects in the background and, with [`LiveConfig::reconnect`], again after
/// failures; see [`wsproto_futures::connect_live`]. To hand an open connection to a
/// background task instead, call `ws.spawn::<Smol>()`.
pub fn connect_live(
    url: &str,
    make_config: impl FnMut() -> ClientConfig + Send + 'static,
    config: &LiveConfig,
) -> (Handle, Events) {
    wsproto_futures::connect_live::<Smol>(url, make_config, config)
}

/// smol as a wsproto [`Runtime`]: its TCP types, and tasks on its global executor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

impl Runtime for Smol {
    type Tcp = FuturesIo<TcpStream>;
    type Listener = TcpListener;

    async fn connect(host: String, port: u16) -> io::Result<Self::Tcp> {
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(FuturesIo::new(stream))
    }

    async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
        smol::net::resolve((host.as_str(), port)).await
    }

    async fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        TcpListener::try_from(wsproto_futures::listen(addr, backlog)?)
    }

    async fn accept(listener: &TcpListener) -> io::Result<Self::Tcp> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(FuturesIo::new(stream))
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }
}
