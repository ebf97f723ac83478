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

use smol::net::{TcpListener as SmolListener, TcpStream};
pub use wsproto_futures::prelude::*;
pub use wsproto_futures::{accept_stream, client_over, from_upgraded};

/// An open WebSocket over a smol stream (TCP by default).
pub type WebSocket<S = TcpStream> = wsproto_futures::WebSocket<S>;
/// The receiving half of a split [`WebSocket`].
pub type ReadHalf<S = TcpStream> = wsproto_futures::ReadHalf<S>;
/// The sending half of a split [`WebSocket`].
pub type WriteHalf<S = TcpStream> = wsproto_futures::WriteHalf<S>;
/// A WebSocket server on smol's TCP listener.
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

/// smol's TCP listener, as the generic server needs it.
#[derive(Debug)]
pub struct TcpListener(SmolListener);

impl wsproto_futures::Listener for TcpListener {
    type Stream = TcpStream;

    async fn bind(addr: SocketAddr) -> io::Result<Self> {
        SmolListener::bind(addr).await.map(Self)
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
