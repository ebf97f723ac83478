//! # wsproto-tokio
//!
//! WebSocket clients and servers on tokio. This crate is the tokio glue for the shared
//! [`wsproto_async`] drive loop: it makes tokio streams a transport ([`TokioIo`]), tokio
//! sleeps a timer, and adds TCP connecting and a listening [`Server`]. All protocol logic
//! (framing, UTF-8, close codes, limits) lives in [`wsproto_core`].
//!
//! - Client: [`connect`] / [`connect_with`] over TCP, or [`client_over`] any
//!   `AsyncRead + AsyncWrite` stream (TLS, proxies).
//! - Server: [`Server::bind`] then [`Server::accept`], or [`accept_stream`] on a stream you
//!   accepted yourself; on a hyper or axum route, `http_upgrade` (feature `hyper`) answers
//!   the upgrade exactly as `Server::accept` does, or [`from_upgraded`] wraps a stream
//!   another stack upgraded.
//! - The connection: [`WebSocket`], with async methods, `futures` `Stream`/`Sink`, and
//!   `into_split()` into halves for two tasks.
//! - Features: `deflate` and `tls` (on by default), `hyper` (`http_upgrade`), `tracing`
//!   (handshake, close, protocol-error, lost-connection and back-pressure events with target
//!   `wsproto` for your `tracing` subscriber; compiled out when off).
//!
//! ## Coming from tokio-tungstenite
//!
//! | tokio-tungstenite | wsproto-tokio |
//! | --- | --- |
//! | `connect_async(url)` → `(ws, response)` | [`connect`]`(url)`, or [`connect_with`] for options; [`WebSocket::handshake`](wsproto_async::WebSocket::handshake) says what was settled |
//! | `accept_async(stream)` | [`accept_stream`]`(stream, &config)`, or a [`Server`] that accepts for you |
//! | axum's `WebSocketUpgrade` | `http_upgrade(&mut request, &config)` (feature `hyper`) |
//! | `Message::Text(s)`, `Message::Binary(b)` | the same; `Message::text(..)`, `Message::binary(..)`, `.into()` from `&str`/`String` |
//! | `Message::Ping`/`Pong`/`Close` in the stream | answered for you; [`next_event`](wsproto_async::WebSocket::next_event) shows them as events |
//! | `ws.close(None)` | `ws.close(code, reason)` (it waits for the peer's Close); `SinkExt::close(&mut ws)` also works |
//! | `let (write, read) = ws.split()` (futures) | the same with `StreamExt` in scope, or `let (read, write) = ws.into_split()` (halves with methods) |
//!
//! The futures idioms compile as they are:
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_tokio::Message;
//!
//! # async fn run() -> Result<(), wsproto_tokio::Error> {
//! let ws = wsproto_tokio::connect("ws://127.0.0.1:9001/").await?;
//! let (mut write, mut read) = ws.split();
//! write.send(Message::from("hello")).await?;
//! while let Some(message) = read.next().await {
//!     let message = message?;
//!     if message.is_text() {
//!         println!("{}", message.as_text().unwrap_or_default());
//!         break;
//!     }
//! }
//! // The sink's close: a Close frame with 1000 (normal), then the end of the stream.
//! write.close().await?;
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! use wsproto_tokio::Server;
//!
//! # async fn run() -> Result<(), wsproto_tokio::Error> {
//! let mut server = Server::bind("127.0.0.1:0").await?;
//! println!("listening on {}", server.url());
//! while let Ok(mut ws) = server.accept().await {
//!     tokio::spawn(async move {
//!         while let Some(Ok(message)) = ws.recv().await {
//!             // feed() batches replies; they leave when recv() would wait.
//!             if ws.feed(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok(()) }
//! ```

mod client;
#[cfg(feature = "hyper")]
mod hyper_upgrade;
mod io;
mod runtime;
mod server;

use tokio::io::{AsyncRead, AsyncWrite};

pub use client::{client_over, connect, connect_with};
#[cfg(feature = "hyper")]
pub use hyper_upgrade::{HttpUpgrading, UpgradedStream, UpgradedWebSocket, http_upgrade};
pub use io::{TokioIo, TokioTimer};
pub use runtime::Tokio;
pub use server::{Server, accept_stream};
pub use wsproto_async::MaybeTls;
pub use wsproto_async::prelude::*;
#[cfg(feature = "tls")]
pub use wsproto_async::rustls;
pub use wsproto_async::{Events, Handle, LiveConfig};

/// An open WebSocket over the tokio stream `S` (what [`client_over`], [`accept_stream`] and
/// [`from_upgraded`] hand out for a stream of yours).
pub type WebSocket<S> = wsproto_async::WebSocket<TokioIo<S>>;
/// An open WebSocket over TCP, plain (`ws://`) or TLS (`wss://`): what [`connect`] and
/// [`Server::accept`](wsproto_async::Server::accept) hand out.
pub type TcpWebSocket = wsproto_async::WebSocket<MaybeTls<TokioIo<tokio::net::TcpStream>>>;
/// A [`WebSocket`] as a byte stream (tokio `AsyncRead` + `AsyncWrite` + `AsyncBufRead`),
/// from [`into_byte_stream`](wsproto_async::WebSocket::into_byte_stream).
pub type ByteStream<S> = wsproto_async::ByteStream<TokioIo<S>>;
/// A [`TcpWebSocket`] as a byte stream.
pub type TcpByteStream = wsproto_async::ByteStream<MaybeTls<TokioIo<tokio::net::TcpStream>>>;
/// The receiving half of a split [`WebSocket`].
pub type ReadHalf<S> = wsproto_async::ReadHalf<TokioIo<S>>;
/// The sending half of a split [`WebSocket`].
pub type WriteHalf<S> = wsproto_async::WriteHalf<TokioIo<S>>;

/// A client that connects in the background and, with [`LiveConfig::reconnect`], again after
/// failures; see [`wsproto_async::connect_live`]. To hand an open connection to a background
/// task instead, call `ws.spawn::<Tokio>()`.
pub fn connect_live(
    url: &str,
    make_config: impl FnMut() -> ClientConfig + Send + 'static,
    config: &LiveConfig,
) -> (Handle, Events) {
    wsproto_async::connect_live::<Tokio>(url, make_config, config)
}

/// Wraps a stream on which the opening handshake already happened (a hyper/axum `Upgraded`
/// connection, say) and starts the engine in `role`; `leftover` are bytes read past the
/// handshake that belong to the WebSocket.
pub fn from_upgraded<S>(
    stream: S,
    role: Role,
    config: Config,
    limits: Limits,
    leftover: &[u8],
) -> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::WebSocket::from_upgraded(TokioIo::new(stream), role, config, limits, leftover)
}
