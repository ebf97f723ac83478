//! # wsproto-async
//!
//! The runtime-agnostic async drive loop of wsproto, written once and shared by the tokio and
//! futures-io (smol, async-std) adapters. A runtime supplies a [`Transport`] (read into a
//! buffer, vectored write, flush, shutdown), a [`Timer`] and a [`Runtime`] (TCP connect,
//! listen, accept, spawn); this crate supplies the rest:
//!
//! - [`WebSocket`]: the open connection, with async methods, `futures` `Stream` + `Sink`, and
//!   [`WebSocket::into_split`] into halves for two tasks, and [`WebSocket::into_byte_stream`], the
//!   connection as a byte pipe ([`ByteStream`]);
//! - [`connect_with`] and [`Server`]: the client and the server over any [`Runtime`], with
//!   pause/resume, a pending-handshake cap and graceful shutdown;
//! - [`client_over`] / [`open_client`] and [`accept_stream`]: the async drivers of the opening
//!   handshake sequences ([`ClientOpening`], [`ServerOpening`]) on either side.
//!
//! The setup vocabulary ([`ClientConfig`], [`ServerConfig`], [`HttpResponse`], [`Error`],
//! [`ShutdownSignal`]...) lives in [`wsproto_setup`], shared with the blocking adapter, and is
//! re-exported here.
//!
//! All protocol logic (framing, UTF-8, close codes, limits) stays in [`wsproto_core`]; this
//! crate only moves bytes and time. Application code uses an adapter crate, which re-exports
//! what is needed here.

mod accept;
mod byte_stream;
mod client;
mod driver;
mod inbox;
mod live;
mod maybe_tls;
mod runtime;
mod server;
mod split;
#[cfg(feature = "tls")]
mod tls;
mod websocket;

pub use accept::accept_stream;
pub use byte_stream::ByteStream;
pub use client::{client_over, connect_with, exchange, open_client};
pub use live::connect_live;
pub use maybe_tls::MaybeTls;
pub use runtime::{Runtime, SocketAddrs, Timer, TimerOf, Transport, with_deadline};
pub use server::Server;
pub use split::{ReadHalf, WriteHalf};
#[cfg(feature = "tls")]
pub use tls::TlsStream;
pub use websocket::WebSocket;
#[cfg(feature = "deflate")]
pub use wsproto_setup::DeflateConfig;
pub use wsproto_setup::prelude;
pub use wsproto_setup::{
    ClientConfig, ClientOpening, Closed, ClosedBy, Deadline, Error, Events, Exchange, Handle,
    HandshakeInfo, HttpResponse, LiveConfig, LiveEvent, LiveState, Proxy, ProxyFailure,
    ProxyFailureKind, ReconnectPolicy, Reject, Result, ServerConfig, ServerOpening, ShutdownSignal,
    ShutdownWatch, TunnelOpening, Upgrade,
};
#[cfg(feature = "tls")]
pub use wsproto_setup::{ClientTls, ServerTls, TlsError, TlsErrorKind, rustls};
