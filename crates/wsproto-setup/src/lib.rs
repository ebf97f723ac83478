//! # wsproto-setup
//!
//! Floor 1 of wsproto: what every adapter, async or blocking, shares above the sans-IO engine
//! ([`wsproto_core`]) and below any runtime. It needs `std` and nothing else — no futures, no
//! sockets — so the blocking adapter and the async drive loop stand on it side by side.
//!
//! - [`ClientConfig`], [`ServerConfig`], [`HttpResponse`], [`HandshakeInfo`] and [`Error`]:
//!   the vocabulary every adapter speaks, so they all look the same;
//! - [`ClientOpening`] and [`ServerOpening`]: the opening handshake on either side as one
//!   sans-IO sequence with its [`Deadline`]. An adapter only moves bytes between a stream and the
//!   sequence; which request to send, what to answer, when to give up and what an early end
//!   of stream means are decided here, once;
//! - [`HttpUpgrade`]: the upgrade answered for another HTTP stack (hyper, axum) exactly as
//!   our servers answer it; [`upgraded_connection`]: a bare engine for a stream upgraded
//!   elsewhere;
//! - [`ClientTls`], [`ServerTls`], [`TlsError`] (feature `tls`, on by default): `wss://` in both
//!   roles over rustls, set up here once for every adapter;
//! - [`Proxy`] (HTTP `CONNECT`, SOCKS5) and [`TunnelOpening`]: clients through proxies, the
//!   environment's proxy read as curl reads it when asked ([`Proxy::from_env`]);
//! - [`ShutdownSignal`]: a server's graceful shutdown reaching every connection it accepted;
//! - [`prelude`]: the names every adapter re-exports.
//!
//! Protocol rules (framing, UTF-8, close codes, limits, the handshake's HTTP) stay in the
//! core. Application code uses an adapter crate, which re-exports what it needs from here.

mod addrs;
mod client;
mod deadline;
mod error;
mod exchange;
mod http_response;
mod info;
mod listen;
pub mod live;
mod proxy;
mod rng;
mod server;
mod shutdown;
#[cfg(feature = "tls")]
mod tls;
mod upgraded;

pub use addrs::SocketAddrs;
pub use client::{ClientConfig, ClientOpening};
pub use deadline::Deadline;
pub use error::{ConnectionLost, Error, Result};
pub use exchange::Exchange;
pub use http_response::HttpResponse;
pub use info::HandshakeInfo;
pub use listen::{DEFAULT_BACKLOG, listen};
pub use live::{Closed, ClosedBy, Events, Handle, LiveConfig, LiveEvent, LiveState, RetrySchedule};
pub use proxy::{Proxy, ProxyFailure, ProxyFailureKind, TunnelOpening};
#[cfg(feature = "tls")]
pub use rustls;
pub use server::{EVICT_AFTER, Reject, ServerConfig, ServerOpening, Upgrade};
pub use shutdown::{ShutdownSignal, ShutdownWatch};
#[cfg(feature = "tls")]
pub use tls::{ClientTls, ServerTls, TlsError, TlsErrorKind};
pub use upgraded::{HttpUpgrade, upgraded_connection};
#[cfg(feature = "deflate")]
pub use wsproto_core::deflate::DeflateConfig;
pub use wsproto_core::reconnect::ReconnectPolicy;

/// The names every adapter crate re-exports (`pub use wsproto_setup::prelude::*;`), so that
/// switching runtimes changes one path and nothing else.
pub mod prelude {
    pub use crate::{
        ClientConfig, Closed, ClosedBy, ConnectionLost, DEFAULT_BACKLOG, Error, HandshakeInfo,
        HttpResponse, HttpUpgrade, LiveEvent, LiveState, Proxy, ProxyFailure, ProxyFailureKind,
        ReconnectPolicy, Reject, Result, ServerConfig, listen,
    };
    #[cfg(feature = "tls")]
    pub use crate::{ClientTls, ServerTls, TlsError, TlsErrorKind};
    pub use wsproto_core::byte_stream::{ByteStreamError, TextMessages};
    #[cfg(feature = "deflate")]
    pub use wsproto_core::deflate::DeflateConfig;
    pub use wsproto_core::handshake::{HandshakeError, Request};
    pub use wsproto_core::{
        Bytes, CloseCode, CloseFrame, Config, Delivery, Event, Limits, Message, MessageKind,
        ProtocolError, Role, SendError, State, Utf8Bytes,
    };
}
