//! The WebSocket opening handshake (RFC 6455 §4): an HTTP/1.1 `GET` with `Upgrade: websocket`
//! answered by `101 Switching Protocols`.
//!
//! Two sans-IO machines, one per role:
//! - [`ClientHandshake`] writes the request built from a [`ClientRequest`] and checks the
//!   server's response, yielding a [`ClientAccepted`];
//! - [`ServerHandshake`] parses and validates the client's request, yielding a [`Request`] for
//!   the application to inspect, and writes either the `101` built from an [`Accept`] or an HTTP
//!   error response.
//!
//! Both follow the crate's calling contract: feed received bytes to `handle_input`, drain
//! `transmit`/`advance_transmit` after every call, arm a timer from `poll_timeout` and call
//! `handle_timeout` when it fires. Neither reads a clock or does I/O, and the client uses only
//! the randomness it is handed (for `Sec-WebSocket-Key`).
//!
//! Invariants:
//! - heads are bounded by [`Limits::max_header_bytes`](crate::Limits::max_header_bytes) and
//!   [`Limits::max_headers`](crate::Limits::max_headers) before they are buffered;
//! - bytes that arrive after the head are never dropped: they are handed over as *leftover* and
//!   must be fed to the WebSocket connection first;
//! - peer input never panics; it yields a typed [`HandshakeError`], which is sticky;
//! - caller-supplied header names and values are validated, so nothing can inject CR/LF.
//!
//! ```
//! use core::time::Duration;
//! use wsproto_core::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
//! use wsproto_core::{Instant, Limits};
//!
//! # struct Counter(u8);
//! # impl rand_core::RngCore for Counter {
//! #     fn next_u32(&mut self) -> u32 { 0 }
//! #     fn next_u64(&mut self) -> u64 { 0 }
//! #     fn fill_bytes(&mut self, dst: &mut [u8]) {
//! #         for b in dst { self.0 = self.0.wrapping_add(1); *b = self.0; }
//! #     }
//! # }
//! # let mut rng = Counter(0);
//! let limits = Limits::default();
//! let now = Instant::ZERO;
//! let request = ClientRequest::from_url("ws://example.com/chat")?.subprotocol("chat");
//! let mut client = ClientHandshake::new(request, &limits, &mut rng, now, None)?;
//! let mut server = ServerHandshake::new(&limits, now, Some(Duration::from_secs(10)));
//!
//! let request = server.handle_input(client.transmit())?.expect("whole request");
//! client.advance_transmit(client.transmit().len());
//! let accept = Accept::new().negotiate_subprotocol(&request, &["chat"]);
//! let _leftover = server.accept(accept)?;
//!
//! let accepted = client.handle_input(server.transmit())?.expect("whole response");
//! assert_eq!(accepted.subprotocol(), Some("chat"));
//! # Ok::<(), wsproto_core::handshake::HandshakeError>(())
//! ```

mod client;
mod client_request;
mod error;
pub(crate) mod http;
mod server;
mod server_request;
#[cfg(test)]
mod test_util;
pub(crate) mod url;

pub use client::{ClientAccepted, ClientHandshake};
pub use client_request::ClientRequest;
pub use error::{HandshakeError, Rejection};
pub use http::{ExtensionParams, accept_key, parse_extensions};
pub use server::ServerHandshake;
pub use server_request::{Accept, Request};

/// The timeout to pass to [`ServerHandshake::new`] and [`ClientHandshake::new`] unless you
/// have a reason to choose another: 10 seconds for the whole opening, long enough for a slow
/// network, short enough that a silent client does not hold its slot for long. The adapters'
/// `ServerConfig` and `ClientConfig` default to it. `None` there means no deadline at all,
/// which a server should never use with untrusted clients.
pub const DEFAULT_HANDSHAKE_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(10);
