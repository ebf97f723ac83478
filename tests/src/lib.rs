//! The harness behind the workspace's integration tests: one synchronous facade over every
//! adapter, so a single test body runs against each client × server pair.
//!
//! A [`ServerKind`] starts an echo server on its runtime in a background thread and returns
//! its URL; a [`ClientKind`] connects and returns a [`Client`], whose calls block on that
//! runtime's executor. The echo server repeats every message, and answers the text
//! `"close me"` by closing with 4000 "bye", so server-initiated closes can be tested too.
//! Every call is bounded by the adapters' own timeouts; nothing here waits forever.

use std::time::Duration;

use wsproto_core::{CloseCode, CloseFrame, Event, Limits, Message, MessageKind};

mod adapters;

pub use adapters::{ClientKind, ServerKind};

/// The text that makes the echo server close the connection with [`SERVER_CLOSE_CODE`].
pub const CLOSE_ME: &str = "close me";
/// The code the echo server closes with when asked.
pub const SERVER_CLOSE_CODE: u16 = 4000;

/// Limits large enough for the 16 MiB messages of the matrix.
#[must_use]
pub fn big_limits() -> Limits {
    Limits::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
        .write_high_water(4 << 20)
}

/// What a test does with one client connection, whatever its runtime.
pub trait Client {
    /// Sends a whole message and writes it out.
    fn send(&mut self, message: Message) -> Result<(), String>;
    /// Sends one piece of a caller-fragmented message.
    fn send_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), String>;
    /// Sends a ping.
    fn ping(&mut self, payload: &[u8]) -> Result<(), String>;
    /// The next event; `None` at the end.
    fn next_event(&mut self) -> Option<Result<Event, String>>;
    /// The closing handshake from our side.
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), String>;
    /// The peer's Close, once received.
    fn close_received(&self) -> Option<CloseFrame>;

    /// The next whole data message, skipping control events.
    fn recv(&mut self) -> Option<Result<Message, String>> {
        loop {
            match self.next_event()? {
                Ok(Event::Message(message)) => return Some(Ok(message)),
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// Fails a test whose body took longer than this.
pub const PAIR_LIMIT: Duration = Duration::from_secs(60);
