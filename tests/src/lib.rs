//! The harness behind the workspace's integration tests: one synchronous facade over every
//! adapter, so a single test body runs against each client × server pair.
//!
//! A [`ServerKind`] starts an echo server on its runtime in a background thread and returns
//! its URL; a [`ClientKind`] connects and returns a [`Client`], whose calls block on that
//! runtime's executor. The echo server repeats every message, negotiates [`SUBPROTOCOLS`]
//! (the client's first supported one), and answers the text `"close me"` by closing with 4000
//! "bye" and `"close-with <code> <reason>"` by closing with that code and reason, so
//! server-initiated closes can be tested too — the second form is what the real peers'
//! echo servers ([`peers`]) understand as well.
//! Every call is bounded by the adapters' own timeouts; nothing here waits forever.

// The harness's module docs point maintainers at its private pieces (the conformance
// case language, the raw peer, the suite's budgets); nothing here is published.
#![allow(rustdoc::private_intra_doc_links)]

use std::time::Duration;

use wsproto_core::{CloseCode, CloseFrame, Event, Limits, Message, MessageKind};
use wsproto_testkit::wire::{self, first_byte, opcode};

mod adapters;
pub mod certs;
pub mod conformance;
pub mod hostile;
pub mod peers;
pub mod proxies;
pub mod scratch;
pub mod soak;

pub use adapters::{ClientKind, ServerKind, client_config, echo_config};

/// The text that makes the echo server close the connection with [`SERVER_CLOSE_CODE`].
pub const CLOSE_ME: &str = "close me";
/// The code the echo server closes with when asked.
pub const SERVER_CLOSE_CODE: u16 = 4000;
/// The command prefix `"close-with <code> <reason>"` that makes an echo server (ours or a
/// real peer's) close with that code and reason.
pub const CLOSE_WITH: &str = "close-with";
/// The subprotocols every echo server supports.
pub const SUBPROTOCOLS: [&str; 2] = ["chat.v1", "chat.v2"];

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
    /// The subprotocol the server selected, if any.
    fn subprotocol(&self) -> Option<String>;
    /// Whether permessage-deflate was negotiated.
    fn compressed(&self) -> bool;

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

/// A one-connection raw server that completes the handshake, then writes each of `messages`
/// as one unmasked binary frame in two halves with `pause` between them, so a receiver is
/// guaranteed to see partial messages; it then waits for the client's Close and echoes it.
/// Returns the `ws://` URL. Used to test that dropping a half-done `recv` loses nothing.
#[must_use]
pub fn trickle_server(messages: Vec<Vec<u8>>, pause: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut handshake = wsproto_core::handshake::ServerHandshake::new(
            &Limits::default(),
            wsproto_core::Instant::ZERO,
            None,
        );
        let mut buf = [0; 4096];
        loop {
            let Ok(n) = stream.read(&mut buf) else { return };
            match handshake.handle_input(&buf[..n]) {
                Ok(Some(_)) => break,
                Ok(None) if n > 0 => {}
                _ => return,
            }
        }
        if handshake
            .accept(wsproto_core::handshake::Accept::new())
            .is_err()
            || stream.write_all(handshake.transmit()).is_err()
        {
            return;
        }
        for payload in messages {
            let frame = wire::frame(first_byte(true, 0, opcode::BINARY), None, &payload);
            let (first, second) = frame.split_at(frame.len() / 2);
            let _ = stream.write_all(first);
            std::thread::sleep(pause);
            let _ = stream.write_all(second);
        }
        // Answer the client's Close (whatever else it sent) and end.
        let close = first_byte(true, 0, opcode::CLOSE);
        let _ = stream.write_all(&wire::frame(close, None, &1000u16.to_be_bytes()));
        let _ = stream.read(&mut buf);
    });
    url
}

/// Fails a test whose body took longer than this.
pub const PAIR_LIMIT: Duration = Duration::from_secs(60);
