//! # wsproto-blocking
//!
//! WebSocket clients and servers over blocking `std::net` sockets (or any blocking stream,
//! such as a TLS wrapper), with no async runtime. All protocol logic (handshake, framing,
//! UTF-8, close codes, limits, timers) lives in [`wsproto_core`]; this crate only moves bytes
//! and maps the engine's deadlines onto socket read timeouts. Its vocabulary —
//! [`ClientConfig`], [`ServerConfig`], [`HttpResponse`], [`Error`], [`HandshakeInfo`] — is
//! shared with the async adapters through [`wsproto_setup`].
//!
//! - Client: [`connect`] / [`connect_with`] over TCP, or [`client_over`] any
//!   [`BlockingTransport`] (TLS, proxies).
//! - Server: [`Server::bind`] then [`Server::accept`] (handshakes run on their own threads,
//!   bounded by the handshake timeout), or [`accept_stream`] on a stream you accepted
//!   yourself, or [`WebSocket::from_upgraded`] after your HTTP server did the upgrade.
//! - The connection: [`WebSocket`], with blocking methods and an [`Iterator`] of messages.
//!
//! A blocking connection does its housekeeping (answering pings, echoing a Close, keepalive
//! pings, the close timeout) while the application is inside a receiving call
//! ([`WebSocket::recv`], [`WebSocket::next_event`], [`WebSocket::close`]).
//!
//! ```no_run
//! use wsproto_blocking::Server;
//!
//! # fn run() -> wsproto_blocking::Result<()> {
//! let server = Server::bind("127.0.0.1:0")?;
//! println!("listening on {}", server.url());
//! while let Ok(mut ws) = server.accept() {
//!     std::thread::spawn(move || {
//!         while let Some(Ok(message)) = ws.recv() {
//!             if ws.send(message).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok(()) }
//! ```

mod accept;
mod byte_stream;
mod client;
mod drive;
mod live;
mod maybe_tls;
mod server;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod websocket;

pub use accept::accept_stream;
pub use byte_stream::ByteStream;
pub use client::{client_over, connect, connect_with, exchange};
pub use live::{Events, Handle, block_on, connect_live};
pub use maybe_tls::MaybeTls;
pub use server::Server;
#[cfg(feature = "tls")]
pub use tls::TlsStream;
pub use transport::{BlockingTransport, SocketAddrs};
#[cfg(feature = "tls")]
pub use wsproto_setup::rustls;
pub use wsproto_setup::{Exchange, LiveConfig, ShutdownSignal, ShutdownWatch, TunnelOpening};

/// An open WebSocket over TCP, plain (`ws://`) or TLS (`wss://`): what [`connect`] and
/// [`Server::accept`] hand out.
pub type TcpWebSocket = WebSocket<MaybeTls<std::net::TcpStream>>;
/// A [`TcpWebSocket`] as a byte stream (`Read` + `Write` + `BufRead`).
pub type TcpByteStream = ByteStream<MaybeTls<std::net::TcpStream>>;
pub use websocket::WebSocket;
pub use wsproto_setup::prelude::*;
