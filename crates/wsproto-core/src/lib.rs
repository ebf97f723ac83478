//! # wsproto-core
//!
//! A sans-IO WebSocket engine (RFC 6455) for clients and servers: the opening handshake,
//! framing and masking, fragmentation, incremental UTF-8 validation, ping/pong, the closing
//! handshake and resource limits — with no sockets, no clock and no threads.
//!
//! An adapter (tokio, async-std, smol, blocking `std::net`, or your own event loop) moves bytes
//! between a transport and the engine:
//!
//! 1. A handshake machine ([`handshake::ClientHandshake`] or [`handshake::ServerHandshake`])
//!    produces the HTTP upgrade and hands over any bytes that followed it.
//! 2. A [`Connection`] takes received bytes and the current time, yields [`Event`]s, and
//!    queues the bytes to send. It never blocks and never reads a clock: time comes in as an
//!    [`Instant`] argument and deadlines go out through [`Connection::poll_timeout`].
//!
//! Peer input never panics and never makes the engine hold more memory than its [`Limits`]
//! allow; a violation fails the connection with the close code RFC 6455 prescribes.
//!
//! Features: `deflate` (permessage-deflate, RFC 7692); `tracing` (events with target
//! `wsproto` for Close frames sent and received, protocol errors, lost connections and
//! back-pressure, for any `tracing` subscriber; compiled out when off); `pair` (the
//! in-memory client/server harness with a virtual clock, for tests).
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod byte_stream;
mod close;
mod config;
mod connection;
mod error;
mod event;
mod extension;
mod frame;
pub mod handshake;
mod mask;
#[cfg(any(test, feature = "pair"))]
pub mod pair;
pub mod proxy;
pub mod reconnect;
mod time;
mod trace;
mod transmit;
mod utf8;

#[cfg(test)]
pub(crate) mod tests;

pub use bytes::{Bytes, BytesMut};
pub use close::{CloseCode, CloseFrame, InvalidCloseCode, MAX_REASON_LEN};
pub use config::{Config, Delivery, Limits};
pub use connection::{Connection, LINGER, REPLY_ALLOWANCE, Role, SHUTDOWN_REASON, State};
pub use error::{ConnectionError, ConnectionLost, ProtocolError, SendError};
pub use event::{Event, Message, MessageKind, Utf8Bytes};
#[cfg(feature = "deflate")]
pub use extension::deflate;
pub use extension::{Extension, ExtensionError};
pub use frame::{MAX_CONTROL_PAYLOAD, OpCode};
pub use time::Instant;
