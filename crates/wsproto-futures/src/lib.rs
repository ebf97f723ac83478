//! # wsproto-futures
//!
//! WebSocket clients and servers over `futures-io` streams, shared by the smol and async-std
//! adapters (and usable directly with any futures-io transport). It makes futures-io streams
//! a [`wsproto_async`] transport ([`FuturesIo`]) and async-io's timer the timer; each runtime
//! crate adds its [`Runtime`] (TCP and spawn) for the generic [`Server`] and [`connect_with`].
//! All protocol logic lives in [`wsproto_core`].

mod client;
mod io;
mod server;

pub use client::{TcpWebSocket, WebSocket, client_over};
pub use io::{AsyncIoTimer, FuturesIo, PeerAddrs};
pub use server::accept_stream;
pub use wsproto_async::prelude::{self, *};
#[cfg(feature = "tls")]
pub use wsproto_async::rustls;
pub use wsproto_async::{
    Events, Handle, LiveConfig, MaybeTls, Runtime, Server, connect_live, connect_with,
};

/// A [`WebSocket`] as a byte stream (futures-io `AsyncRead` + `AsyncWrite` +
/// `AsyncBufRead`), from [`into_byte_stream`](wsproto_async::WebSocket::into_byte_stream).
pub type ByteStream<S> = wsproto_async::ByteStream<FuturesIo<S>>;
/// A [`TcpWebSocket`] as a byte stream.
pub type TcpByteStream<S> = wsproto_async::ByteStream<MaybeTls<FuturesIo<S>>>;
/// The receiving half of a split [`WebSocket`].
pub type ReadHalf<S> = wsproto_async::ReadHalf<FuturesIo<S>>;
/// The sending half of a split [`WebSocket`].
pub type WriteHalf<S> = wsproto_async::WriteHalf<FuturesIo<S>>;

/// Wraps a stream on which the opening handshake already happened and starts the engine in
/// `role`; `leftover` are bytes read past the handshake that belong to the WebSocket.
pub fn from_upgraded<S>(
    stream: S,
    role: Role,
    config: Config,
    limits: Limits,
    leftover: &[u8],
) -> WebSocket<S>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    wsproto_async::WebSocket::from_upgraded(FuturesIo::new(stream), role, config, limits, leftover)
}
