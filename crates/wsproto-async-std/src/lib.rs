//! # wsproto-async-std
//!
//! WebSocket clients and servers on async-std: async-std's TCP types plugged into [`wsproto_futures`]
//! (the futures-io adapter), which drives the sans-IO [`wsproto_futures::Config`] engine.
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

use std::io;
use std::net::SocketAddr;

use async_std::net::{TcpListener as StdListener, TcpStream};
#[cfg(feature = "deflate")]
pub use wsproto_futures::DeflateConfig;
pub use wsproto_futures::{
    Bytes, ClientConfig, CloseCode, CloseFrame, Config, Delivery, Error, Event, HandshakeInfo,
    HttpResponse, Limits, Message, MessageKind, ProtocolError, Reject, Request, Result, Role,
    SendError, ServerConfig, State, Utf8Bytes, accept_stream, client_over, from_upgraded,
};

/// An open WebSocket over an async-std stream (TCP by default).
pub type WebSocket<S = TcpStream> = wsproto_futures::WebSocket<S>;
/// The receiving half of a split [`WebSocket`].
pub type ReadHalf<S = TcpStream> = wsproto_futures::ReadHalf<S>;
/// The sending half of a split [`WebSocket`].
pub type WriteHalf<S = TcpStream> = wsproto_futures::WriteHalf<S>;
/// A WebSocket server on async-std's TCP listener.
pub type Server = wsproto_futures::Server<TcpListener>;

/// Connects to a `ws://` URL with default options.
pub async fn connect(url: &str) -> Result<WebSocket> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to a `ws://` URL with `options`.
pub async fn connect_with(url: &str, options: ClientConfig) -> Result<WebSocket> {
    wsproto_futures::connect_with(url, options, |host, port| async move {
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
    .await
}

/// async-std's TCP listener, as the generic server needs it.
#[derive(Debug)]
pub struct TcpListener(StdListener);

impl wsproto_futures::Listener for TcpListener {
    type Stream = TcpStream;

    async fn bind(addr: SocketAddr) -> io::Result<Self> {
        StdListener::bind(addr).await.map(Self)
    }

    async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
