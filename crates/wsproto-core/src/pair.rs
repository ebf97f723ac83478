//! A test harness with a virtual clock: a client and a server [`Connection`] wired to each
//! other in memory (feature `pair`; the engine's own tests and `wsproto-testkit` use it).
//!
//! [`Pair::drive`] moves each side's transmit queue into the other's input, optionally cut
//! into pseudo-random chunk sizes ([`Pair::chunked`]), and records every event and error per
//! side until nothing moves. [`Pair::advance_to_next_timeout`] moves the virtual clock to the
//! earliest deadline and fires it. Nothing here reads a real clock, so every run with the
//! same seed is identical: close timeouts, keepalive and lingering are tested in
//! microseconds.
//!
//! ```
//! use wsproto_core::pair::Pair;
//! use wsproto_core::{Event, Message, Role};
//!
//! let mut pair = Pair::new().chunked(3, 42); // every transfer cut into 1..=3-byte pieces
//! pair.side(Role::Client).send_text("hello").unwrap();
//! pair.drive();
//! assert_eq!(pair.seen(Role::Server).take(), [Event::Message(Message::text("hello"))]);
//!
//! // A close the peer never sees times out on the virtual clock (5 s by default), at once.
//! let now = pair.now;
//! pair.client.close(wsproto_core::CloseCode::NORMAL, "", now).unwrap();
//! let waited = pair.advance_to_next_timeout().unwrap();
//! assert!(waited <= std::time::Duration::from_secs(5));
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use crate::frame::{MAX_HEADER_LEN, OpCode, encode_header};
use crate::mask::apply_mask;
use crate::{Config, Connection, ConnectionError, Event, Instant, Limits, Role};

/// A small deterministic generator (xorshift64*), for masks and test randomness. Not for
/// production masking keys: it is predictable by design.
#[derive(Clone, Debug)]
pub struct TestRng(pub u64);

impl TestRng {
    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.next()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst);
    }
}

/// What one side has seen.
#[derive(Debug, Default)]
pub struct Seen {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Every failure, once each (errors are sticky).
    pub errors: Vec<ConnectionError>,
}

impl Seen {
    /// Takes the recorded events, leaving none.
    pub fn take(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }
}

/// A client and a server connection wired together, with what each has seen and the
/// virtual clock.
#[derive(Debug)]
pub struct Pair {
    /// The client side (masking with a fixed-seed [`TestRng`]).
    pub client: Connection,
    /// The server side.
    pub server: Connection,
    /// What the client has seen.
    pub client_seen: Seen,
    /// What the server has seen.
    pub server_seen: Seen,
    /// The virtual clock: every input and timer uses it.
    pub now: Instant,
    /// Largest chunk moved at once; `None` moves everything queued.
    pub max_chunk: Option<usize>,
    chunk_rng: TestRng,
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

impl Pair {
    /// Both sides with the default behaviour and limits, the clock at 1 s.
    #[must_use]
    pub fn new() -> Self {
        Self::with(Config::default(), Limits::default())
    }

    /// Both sides with the same behaviour and limits.
    #[must_use]
    pub fn with(config: Config, limits: Limits) -> Self {
        Self::with_each(config.clone(), limits.clone(), config, limits)
    }

    /// Each side with its own behaviour and limits.
    #[must_use]
    pub fn with_each(
        client_config: Config,
        client_limits: Limits,
        server_config: Config,
        server_limits: Limits,
    ) -> Self {
        let now = Instant::from_millis(1_000);
        Self {
            client: Connection::client(client_config, client_limits, Box::new(TestRng(7)), now),
            server: Connection::server(server_config, server_limits, now),
            client_seen: Seen::default(),
            server_seen: Seen::default(),
            now,
            max_chunk: None,
            chunk_rng: TestRng(0x5eed),
        }
    }

    /// Cuts every transfer into random pieces of 1..=`max` bytes, seeded by `seed`.
    #[must_use]
    pub fn chunked(mut self, max: usize, seed: u64) -> Self {
        self.max_chunk = Some(max);
        self.chunk_rng = TestRng(seed | 1);
        self
    }

    /// The connection playing `role`.
    pub fn side(&mut self, role: Role) -> &mut Connection {
        match role {
            Role::Client => &mut self.client,
            Role::Server => &mut self.server,
        }
    }

    /// What the side playing `role` has seen.
    pub fn seen(&mut self, role: Role) -> &mut Seen {
        match role {
            Role::Client => &mut self.client_seen,
            Role::Server => &mut self.server_seen,
        }
    }

    /// Moves bytes both ways until neither side has anything left to send.
    pub fn drive(&mut self) {
        loop {
            let a = self.transfer(Role::Client);
            let b = self.transfer(Role::Server);
            if !a && !b {
                break;
            }
        }
    }

    /// Moves one chunk from `from` to the other side; returns whether anything moved.
    pub fn transfer(&mut self, from: Role) -> bool {
        let to = other(from);
        let queued = self.side(from).transmit().len();
        if queued == 0 {
            return false;
        }
        let n = match self.max_chunk {
            None => queued,
            Some(max) => 1 + self.chunk_rng.below(max.min(queued) as u64) as usize,
        };
        let chunk = self.side(from).transmit()[..n].to_vec();
        self.side(from).advance_transmit(n);
        let now = self.now;
        self.side(to).handle_input(&chunk, now);
        self.poll(to);
        true
    }

    /// Records every event (and the error, if any) one side has to report.
    pub fn poll(&mut self, role: Role) {
        loop {
            match self.side(role).poll_event() {
                Ok(Some(event)) => self.seen(role).events.push(event),
                Ok(None) => break,
                Err(error) => {
                    // Errors are sticky: record each failure once.
                    if self.seen(role).errors.last() != Some(&error) {
                        self.seen(role).errors.push(error);
                    }
                    break;
                }
            }
        }
    }

    /// Advances the virtual clock to the earliest deadline of either side, fires both sides'
    /// timers, and drives. Returns the time advanced, or `None` if no timer is armed.
    pub fn advance_to_next_timeout(&mut self) -> Option<Duration> {
        let next = crate::time::earliest(self.client.poll_timeout(), self.server.poll_timeout())?;
        let step = next.saturating_since(self.now);
        self.now = self.now.max(next);
        let now = self.now;
        self.client.handle_timeout(now);
        self.server.handle_timeout(now);
        self.poll(Role::Client);
        self.poll(Role::Server);
        self.drive();
        Some(step)
    }

    /// Moves the clock forward by `by` without firing anything.
    pub fn sleep(&mut self, by: Duration) {
        self.now = self.now + by;
    }
}

/// The other role.
#[must_use]
pub fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// Encodes a raw frame as `sender` would put it on the wire (masked when the sender is a client),
/// with no validation at all, so tests can build every kind of violation.
pub fn raw_frame(sender: Role, first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let fin = first_byte & 0x80 != 0;
    let rsv = first_byte & 0x70;
    let opcode = OpCode::from_u8(first_byte & 0x0F);
    let mut out = Vec::new();
    let mask = (sender == Role::Client).then_some([0xA1, 0xB2, 0xC3, 0xD4]);
    let mut header = [0; MAX_HEADER_LEN];
    // Reserved opcodes cannot go through OpCode; encode as binary and patch the nibble.
    let n = encode_header(
        &mut header,
        fin,
        rsv,
        opcode.unwrap_or(OpCode::Binary),
        mask,
        payload.len(),
    );
    header[0] = first_byte;
    out.extend_from_slice(&header[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}
