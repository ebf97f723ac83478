//! # wsproto-async
//!
//! The runtime-agnostic async drive loop of wsproto, written once and shared by the tokio and
//! futures-io (smol, async-std) adapters. A runtime supplies a [`Transport`] (read into a
//! buffer, vectored write, flush, shutdown) and a [`Timer`]; this crate supplies the rest:
//!
//! - [`WebSocket`]: the open connection, with async methods, `futures` `Stream` + `Sink`, and
//!   [`WebSocket::split`] into halves for two tasks;
//! - [`client_over`] and [`accept_stream`]: the opening handshake on either side, with timeouts;
//! - [`ClientConfig`], [`ServerConfig`], [`HttpResponse`] and [`Error`], shared vocabulary so
//!   every adapter looks the same;
//! - [`ShutdownSignal`]: a server's graceful shutdown reaching every connection it accepted.
//!
//! All protocol logic (framing, UTF-8, close codes, limits) stays in [`wsproto_core`]; this
//! crate only moves bytes and time. Application code uses an adapter crate, which re-exports
//! what is needed here.

mod client;
mod driver;
mod error;
mod rng;
mod runtime;
mod server;
mod shutdown;
mod split;
mod websocket;

pub use client::{ClientConfig, client_over};
pub use error::{Error, Result};
pub use runtime::{SocketAddrs, Timer, Transport, with_deadline};
pub use server::{HttpResponse, Reject, ServerConfig, Upgrade, accept_stream};
pub use shutdown::{ShutdownSignal, ShutdownWatch};
pub use split::{ReadHalf, WriteHalf};
pub use websocket::{HandshakeInfo, WebSocket};
#[cfg(feature = "deflate")]
pub use wsproto_core::deflate::DeflateConfig;
