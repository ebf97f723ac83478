//! # wsproto-tokio
//!
//! WebSocket clients and servers on tokio: a thin adapter that moves bytes and time between
//! tokio transports and the sans-IO [`wsproto_core`] engine. All protocol logic (framing,
//! UTF-8, close codes, limits) lives in the engine; this crate reads, writes and sleeps.
//!
//! - Client: [`connect`] / [`connect_with`] over TCP, or [`client_over`] any
//!   `AsyncRead + AsyncWrite` transport (TLS, proxies).
//! - Server: [`Server::bind`] then [`Server::accept`], or [`accept_stream`] on a stream you
//!   accepted yourself, or [`WebSocket::from_upgraded`] after hyper/axum did the upgrade.
//! - The connection: [`WebSocket`], with async methods, `futures` `Stream`/`Sink`, and
//!   [`WebSocket::split`] into halves for two tasks.
//!
//! ```no_run
//! use wsproto_tokio::{Message, Server};
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
mod driver;
mod error;
mod rng;
mod server;
mod split;
mod websocket;

pub use client::{ClientConfig, client_over, connect, connect_with};
pub use error::{Error, Result};
pub use server::{HttpResponse, Reject, Server, ServerConfig, accept_stream};
pub use split::{ReadHalf, WriteHalf};
pub use websocket::{HandshakeInfo, WebSocket};
pub use wsproto_core::handshake::Request;
pub use wsproto_core::{
    Bytes, CloseCode, CloseFrame, Config, Delivery, Event, Limits, Message, MessageKind,
    ProtocolError, Role, SendError, State, Utf8Bytes,
};
